"""A room's inventory on the room page (staff), and in a student's own room (read only)."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, url_for
from flask_login import current_user

from ..auth.access import staff_required
from ..campus import services as campus
from ..core.forms import submit
from ..extensions import db
from . import services
from .forms import ConditionForm, ItemForm
from .models import Condition, InventoryItem, ItemKind

bp = Blueprint("facilities", __name__)


def _done(action, form, room_id: int):
    submit(form, action)
    return redirect(url_for("campus.room", room_id=room_id, _anchor="inventory"))


@bp.post("/rooms/<int:room_id>/inventory")
@staff_required
def add_item(room_id: int):
    room = campus.load_room(room_id) or abort(404)
    form = ItemForm()
    return _done(lambda: services.add_item(room, ItemKind(form.kind.data), asset_label=form.asset_label.data or "",
                                           description=form.description.data or "",
                                           condition=Condition(form.condition.data), actor=current_user),
                 form, room.id)


@bp.post("/inventory/<int:item_id>/condition")
@staff_required
def set_condition(item_id: int):
    item = db.get_or_404(InventoryItem, item_id)
    form = ConditionForm()
    return _done(lambda: services.set_condition(item, Condition(form.condition.data), note=form.note.data or "",
                                                actor=current_user), form, item.room_id)
