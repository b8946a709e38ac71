"""The campus pages (blueprint "campus": /buildings, /rooms): the places with who lives in them now.

The room page itself gathers every feature's view of a room, so it sits above them, in pages/room.py."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..campus import services as places
from ..campus.forms import RoomSearchForm, RoomStatusForm
from ..campus.models import Building, Room
from ..core.enums import Role, RoomStatus
from ..core.forms import known_choice, options, refuse, row_id, submit
from ..core.roles import roles_required, staff_required
from ..extensions import db
from ..students.models import Student
from ..students.scopes import can_view_student
from . import occupancy
from . import scopes
from . import services as residence

# Who reads the campus pages: staff and auditors everything, inspectors every room (to read), building
# managers their own buildings (residence.scopes says which).
campus_readers_required = roles_required(Role.STAFF, Role.BUILDING_MANAGER, Role.INSPECTOR)

bp = Blueprint("campus", __name__)


@bp.get("/buildings")
@campus_readers_required
def buildings():
    rows = occupancy.occupancy_by_building()
    return render_template("residence/buildings.html", buildings=scopes.visible_buildings(current_user),
                           occupancy=occupancy.occupancy_totals_by_building(rows))


@bp.get("/buildings/<int:building_id>")
@campus_readers_required
def building(building_id: int):
    building = scopes.building_or_404(building_id)
    rooms = places.building_rooms(building)
    floors: dict[int, list] = {}
    for room in rooms:
        floors.setdefault(room.floor.number, []).append(room)
    return render_template("residence/building.html", building=building, floors=floors,
                           occupants=residence.occupants_by_bed(rooms))


@bp.get("/rooms")
@campus_readers_required
def rooms():
    form = RoomSearchForm(request.args, meta={"csrf": False})
    form.building.choices = options([("", _("All buildings"))] + [(str(b.id), f"{b.code} {b.name}")
                                                                  for b in scopes.visible_buildings(current_user)])
    form.room_type.choices = options([("", _("Any type"))] + [(t, t) for t in places.room_types()])
    for_student = student_being_placed()
    filters = occupancy.RoomFilters(
        building_id=row_id(form.building.data),
        gender=known_choice(form.gender), room_type=form.room_type.data or None,
        status=known_choice(form.status), free_only=form.free.data,
        accessible_only=form.accessible.data, number=form.number.data,
    )
    rows = occupancy.search_rooms(filters, within=scopes.visible_rooms_clause(current_user, Room.id))
    return render_template("residence/rooms.html", form=form, rows=rows,
                           for_student=for_student)


@bp.post("/rooms/<int:room_id>/status")
@staff_required
def room_status(room_id: int):
    room = places.load_room(room_id) or abort(404)
    form = RoomStatusForm()
    if not form.validate():
        refuse(_("Choose a status and give a reason."))
        return redirect(url_for("campus.room", room_id=room.id))
    changed = submit(None, lambda: occupancy.set_room_status(room, RoomStatus(form.status.data), reason=form.reason.data),
                     lambda _residents: _("Room %(room)s is now %(status)s.", room=room.code,
                                          status=room.status.label.lower()))
    if changed and room.status == RoomStatus.CLOSED and changed.result:
        flash(_("%(count)d residents still live in this closed room; move them.", count=changed.result), "warning")
    return redirect(url_for("campus.room", room_id=room.id))


def student_being_placed() -> Student | None:
    """Staff looking for a bed for one student carry ?for_student=<id> along."""
    student_id = row_id(request.args.get("for_student"))
    student = db.session.get(Student, student_id) if student_id else None
    # The room pages are read by narrower roles too: the address must not name a student beyond their scope.
    return student if student is not None and can_view_student(current_user, student) else None
