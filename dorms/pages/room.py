"""The room page: the room, its residents, and what every feature knows of it (inventory, repairs, check-ins,
violations, hygiene). Its forms post to the features' own views."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user

from ..campus import services as places
from ..campus.forms import RoomStatusForm
from ..checkin import services as checkin
from ..facilities import repairs
from ..facilities import services as facilities
from ..facilities.forms import ItemForm, report_fault_form
from ..facilities.models import Condition
from ..hygiene import reports as hygiene_reports
from ..residence import services as residence
from ..residence import scopes
from ..residence.campus_views import bp, campus_readers_required, student_being_placed
from ..violations import services as violations


@bp.get("/rooms/<int:room_id>")
@campus_readers_required
def room(room_id: int):
    # Another building's room is missing to a building manager (residence.scopes).
    room = scopes.room_or_404(room_id, load=places.load_room)
    status_form = RoomStatusForm(status=room.status.value)
    items = facilities.items_of(room)
    return render_template(
        "pages/room.html", room=room, occupants=residence.occupants_by_bed([room]),
        status_form=status_form, for_student=student_being_placed(),
        items=items, item_form=ItemForm(),
        conditions=[(condition.value, condition.label) for condition in Condition],
        open_tickets=repairs.of_room(room.id, open_only=True), fault_form=report_fault_form(items),
        checkin_records=checkin.room_check_ins(room.id),
        violations=violations.of_room(current_user, room),
        hygiene=hygiene_reports.room_card(room),
        can_manage=current_user.is_staff, manages_room=scopes.manages_room(current_user, room.id),
    )
