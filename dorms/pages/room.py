"""The room page: the room, its residents, and what every feature knows of it (inventory, repairs, check-ins,
violations, hygiene). Its forms post to the features' own views."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user

from ..campus import services as places
from ..campus.forms import RoomStatusForm
from ..checkin import services as checkin
from ..core.web import kept_html
from ..facilities import repairs
from ..facilities import services as facilities
from ..facilities.forms import ItemForm, report_fault_form
from ..facilities.models import Condition
from ..hygiene import reports as hygiene_reports
from ..residence import services as residence
from ..residence import scopes
from ..residence.campus_views import bp, campus_readers_required, student_being_placed
from ..violations import services as violations


# What the room page's kept parts read (pages/_room_top.html, pages/_room_bottom.html).
ROOM_PAGE_TABLES = (
    "rooms", "floors", "buildings", "beds", "assignments", "students", "terms", "managed_buildings",
    "check_ins", "check_in_report_items", "check_outs", "inventory_items", "inventory_condition_changes",
    "violations", "violation_types", "violation_students", *hygiene_reports.ROOM_CARD_TABLES,
)


@bp.get("/rooms/<int:room_id>")
@campus_readers_required
def room(room_id: int):
    # Another building's room is missing to a building manager (residence.scopes).
    room = scopes.room_or_404(room_id, load=places.load_room)
    for_student = student_being_placed()
    can_manage, manages_room = current_user.is_staff, scopes.manages_room(current_user, room.id)

    def top() -> str:
        return render_template(
            "pages/_room_top.html", room=room, occupants=residence.occupants_by_bed([room]),
            status_form=RoomStatusForm(status=room.status.value), for_student=for_student,
            checkin_records=checkin.room_check_ins(room.id), hygiene=hygiene_reports.room_card(room),
            can_manage=can_manage)

    def bottom() -> str:
        return render_template(
            "pages/_room_bottom.html", room=room, items=facilities.items_of(room), item_form=ItemForm(),
            conditions=[(condition.value, condition.label) for condition in Condition],
            violations=violations.of_room(current_user, room), can_manage=can_manage)

    key = (room.id, for_student.id if for_student else None)
    return render_template(
        "pages/room.html", room=room, manages_room=manages_room,
        top=kept_html("rooms.page.top", top, depends_on=ROOM_PAGE_TABLES, key=key),
        open_tickets=repairs.of_room(room.id, open_only=True),
        fault_form=report_fault_form(facilities.items_in(room.id)) if manages_room else None,
        bottom=kept_html("rooms.page.bottom", bottom, depends_on=ROOM_PAGE_TABLES, key=key),
    )
