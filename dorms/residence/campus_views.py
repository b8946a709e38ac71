"""The campus pages (blueprint "campus": /buildings, /rooms): the places with who lives in them now.

The room page itself gathers every feature's view of a room, so it sits above them, in pages/room.py."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..campus import services as places
from ..campus.forms import RoomSearchForm, RoomStatusForm
from ..campus.models import Building
from ..core.enums import RoomStatus
from ..core.forms import known_choice, options, refuse, row_id, submit
from ..core.roles import staff_required
from ..extensions import db
from ..students.models import Student
from . import occupancy
from . import services as residence

bp = Blueprint("campus", __name__)


@bp.get("/buildings")
@staff_required
def buildings():
    rows = occupancy.occupancy_by_building()
    return render_template("residence/buildings.html", buildings=places.buildings(),
                           occupancy=occupancy.occupancy_totals_by_building(rows))


@bp.get("/buildings/<int:building_id>")
@staff_required
def building(building_id: int):
    building = db.session.get(Building, building_id) or abort(404)
    rooms = places.building_rooms(building)
    floors: dict[int, list] = {}
    for room in rooms:
        floors.setdefault(room.floor.number, []).append(room)
    return render_template("residence/building.html", building=building, floors=floors,
                           occupants=residence.occupants_by_bed(rooms))


@bp.get("/rooms")
@staff_required
def rooms():
    form = RoomSearchForm(request.args, meta={"csrf": False})
    form.building.choices = options([("", _("All buildings"))] + [(str(b.id), f"{b.code} {b.name}") for b in places.buildings()])
    form.room_type.choices = options([("", _("Any type"))] + [(t, t) for t in places.room_types()])
    for_student = student_being_placed()
    filters = occupancy.RoomFilters(
        building_id=row_id(form.building.data),
        gender=known_choice(form.gender), room_type=form.room_type.data or None,
        status=known_choice(form.status), free_only=form.free.data,
        accessible_only=form.accessible.data, number=form.number.data,
    )
    return render_template("residence/rooms.html", form=form, rows=occupancy.search_rooms(filters),
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
    return db.session.get(Student, student_id) if student_id else None
