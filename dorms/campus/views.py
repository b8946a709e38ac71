from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.access import staff_required
from ..checkin import services as checkin
from ..core.enums import RoomStatus
from ..core.forms import known_choice, options, row_id, submit
from ..extensions import db
from ..facilities import repairs
from ..facilities import services as facilities
from ..facilities.forms import ConditionForm, ItemForm, report_fault_form
from ..hygiene import reports as hygiene_reports
from ..residence import services as residence
from ..residence.forms import PlaceForm
from ..students.models import Student
from ..violations import services as violations
from . import services
from .forms import RoomSearchForm, RoomStatusForm
from .models import Building

bp = Blueprint("campus", __name__)


@bp.get("/buildings")
@staff_required
def buildings():
    rows = services.occupancy_by_building()
    return render_template("campus/buildings.html", buildings=services.buildings(),
                           occupancy=services.occupancy_totals_by_building(rows))


@bp.get("/buildings/<int:building_id>")
@staff_required
def building(building_id: int):
    building = db.session.get(Building, building_id) or abort(404)
    rooms = services.building_rooms(building)
    floors: dict[int, list] = {}
    for room in rooms:
        floors.setdefault(room.floor.number, []).append(room)
    return render_template("campus/building.html", building=building, floors=floors,
                           occupants=residence.occupants_by_bed(rooms))


@bp.get("/rooms")
@staff_required
def rooms():
    form = RoomSearchForm(request.args, meta={"csrf": False})
    form.building.choices = options([("", _("All buildings"))] + [(str(b.id), f"{b.code} {b.name}") for b in services.buildings()])
    form.room_type.choices = options([("", _("Any type"))] + [(t, t) for t in services.room_types()])
    for_student = _student_being_placed()
    filters = services.RoomFilters(
        building_id=row_id(form.building.data),
        gender=known_choice(form.gender), room_type=form.room_type.data or None,
        status=known_choice(form.status), free_only=form.free.data,
        accessible_only=form.accessible.data, number=form.number.data,
    )
    return render_template("campus/rooms.html", form=form, rows=services.search_rooms(filters),
                           for_student=for_student)


@bp.get("/rooms/<int:room_id>")
@staff_required
def room(room_id: int):
    room = services.load_room(room_id) or abort(404)
    status_form = RoomStatusForm(status=room.status.value)
    items = facilities.items_of(room)
    return render_template(
        "campus/room.html", room=room, occupants=residence.occupants_by_bed([room]),
        place_form=PlaceForm(), status_form=status_form, for_student=_student_being_placed(),
        items=items, item_form=ItemForm(), condition_form=ConditionForm(),
        open_tickets=repairs.of_room(room.id, open_only=True), fault_form=report_fault_form(items),
        checkin_records=checkin.room_check_ins(room.id),
        violations=violations.of_room(current_user, room),
        hygiene=hygiene_reports.room_summary(room),
    )


@bp.post("/rooms/<int:room_id>/status")
@staff_required
def room_status(room_id: int):
    room = services.load_room(room_id) or abort(404)
    form = RoomStatusForm()
    if not form.validate():
        flash(_("Choose a status and give a reason."), "danger")
        return redirect(url_for("campus.room", room_id=room.id))
    changed = submit(None, lambda: services.set_room_status(room, RoomStatus(form.status.data), reason=form.reason.data),
                     lambda _residents: _("Room %(room)s is now %(status)s.", room=room.code,
                                          status=room.status.label.lower()))
    if changed and room.status == RoomStatus.CLOSED and changed.result:
        flash(_("%(count)d residents still live in this closed room; move them.", count=changed.result), "warning")
    return redirect(url_for("campus.room", room_id=room.id))


def _student_being_placed() -> Student | None:
    """Staff looking for a bed for one student carry ?for_student=<id> along."""
    student_id = request.args.get("for_student", type=int)
    return db.session.get(Student, student_id) if student_id else None
