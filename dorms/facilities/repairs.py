"""Repair tickets (报修): a fault goes reported → assigned → in progress → fixed, or is rejected.

Students report faults in their own room; staff report for any room and
move tickets along. Every step keeps who and when. Fixing a ticket about
an inventory item puts the item back to good, with the ticket named in
its history.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from .. import audit
from ..auth.models import User
from ..campus.models import Building, Room
from ..campus.services import BuildingName, building_names
from ..core.clock import campus_zone, utcnow
from ..core.enums import Role
from ..core.database import conflict_if_changed_meanwhile
from ..core.errors import ServiceError
from ..core.kept import kept
from ..core.roles import sees_everything
from ..extensions import db
from ..notifications import notify
from ..photos import store_photos
from ..residence import services as residence
from ..residence.scopes import manages_room, visible_buildings_clause, visible_rooms_clause
from . import services as inventory
from .models import (
    OPEN_REPAIR_STATUSES,
    Condition,
    InventoryItem,
    RepairStatus,
    RepairStep,
    RepairTicket,
)

# Which status a ticket may go to from each status. Reassigning (assigned → assigned) is allowed.
NEXT_STATUSES = {
    RepairStatus.REPORTED: {RepairStatus.ASSIGNED, RepairStatus.REJECTED},
    RepairStatus.ASSIGNED: {RepairStatus.ASSIGNED, RepairStatus.IN_PROGRESS, RepairStatus.FIXED, RepairStatus.REJECTED},
    RepairStatus.IN_PROGRESS: {RepairStatus.FIXED, RepairStatus.REJECTED},
    RepairStatus.FIXED: set(),
    RepairStatus.REJECTED: set(),
}
# A repair worker moves their own tickets on to these, no further (reassigning and rejecting are the office's).
WORKER_STATUSES = frozenset({RepairStatus.IN_PROGRESS, RepairStatus.FIXED})
MIN_DESCRIPTION = 4


def visible_tickets_clause(user) -> sa.ColumnElement[bool]:
    """The tickets ``user`` may see: a repair worker those assigned to them, anyone else the tickets of the
    rooms they may see (residence.scopes)."""
    if user.role == Role.REPAIR_WORKER:
        return RepairTicket.assigned_to_id == user.id
    return visible_rooms_clause(user, RepairTicket.room_id)


def can_see(user, ticket: RepairTicket) -> bool:
    return bool(db.session.scalar(sa.select(sa.func.count()).select_from(RepairTicket).where(
        RepairTicket.id == ticket.id, visible_tickets_clause(user))))


def next_statuses(user, ticket: RepairTicket) -> set[RepairStatus]:
    """Where ``user`` may take this ticket: staff and the building's manager anywhere the ticket may go,
    its repair worker on to in progress and fixed; anyone else nowhere."""
    possible = NEXT_STATUSES[ticket.status]
    if user.role == Role.REPAIR_WORKER:
        return possible & WORKER_STATUSES if ticket.assigned_to_id == user.id else set()
    return set(possible) if manages_room(user, ticket.room_id) else set()


def repair_workers() -> list[User]:
    """Active repair workers' accounts, offered when a ticket is assigned."""
    return list(db.session.scalars(sa.select(User).where(User.role == Role.REPAIR_WORKER, User.active.is_(True))
                                   .order_by(User.display_name)))


def _worker_named(assignee: str) -> User | None:
    """The repair worker's account an assignee's text names (username or name), if any: the ticket joins
    their queue. Any other text (an outside contractor) stays text only."""
    text = assignee.strip()
    return db.session.scalar(sa.select(User).where(
        User.role == Role.REPAIR_WORKER, User.active.is_(True),
        sa.or_(User.username == text.lower(), User.display_name == text)).order_by(User.id).limit(1))


def student_room(student) -> Room | None:
    """The room of a student's current bed."""
    assignment = residence.current_assignment(student) if student is not None else None
    return assignment.bed.room if assignment is not None else None


def report(room: Room, description: str, *, item: InventoryItem | None = None, photos=(), actor) -> RepairTicket:
    """Open a ticket. Students may report only for the room they live in."""
    if actor.is_student:
        own = student_room(actor.student)
        if own is None or own.id != room.id:
            raise ServiceError(_("You can report faults only in the room you live in."))
    description = (description or "").strip()
    if len(description) < MIN_DESCRIPTION:
        raise ServiceError(_("Say what is wrong (at least %(count)d characters).", count=MIN_DESCRIPTION))
    if item is not None:
        if item.room_id != room.id:
            raise ServiceError(_("That item is not in room %(room)s.", room=room.code))
        already = db.session.scalar(sa.select(RepairTicket.id).where(
            RepairTicket.item_id == item.id, RepairTicket.status.in_(OPEN_REPAIR_STATUSES)))
        if already:
            raise ServiceError(_("This %(item)s already has an open repair ticket (#%(number)d).",
                                 item=item.kind.label.lower(), number=already))
    ticket = RepairTicket(room=room, item=item, description=description[:1000], reported_by_id=actor.id)
    ticket.photos.extend(store_photos(photos, actor=actor))
    ticket.steps.append(RepairStep(status=RepairStatus.REPORTED, actor_id=actor.id))
    db.session.add(ticket)
    db.session.flush()
    audit.record("repair.report", room=room, ticket=ticket.id, item=item.id if item else None,
                 description=ticket.description, photos=len(ticket.photos), actor=actor)
    return ticket


def move(ticket: RepairTicket, status: RepairStatus, *, note: str = "", assignee: str = "", actor) -> None:
    """Take a ticket one step along; the step is kept with who, when and the note."""
    if actor.role == Role.REPAIR_WORKER and status in NEXT_STATUSES[ticket.status] \
            and status not in next_statuses(actor, ticket):
        raise ServiceError(_("A repair worker can only start or finish the tickets assigned to them."))
    if status not in NEXT_STATUSES[ticket.status]:
        raise ServiceError(_("Ticket #%(number)d is %(status)s; it cannot become %(new)s.", number=ticket.id,
                             status=ticket.status.label.lower(), new=status.label.lower()))
    note = (note or "").strip()[:500]
    if status == RepairStatus.ASSIGNED:
        assignee = (assignee or "").strip()[:100]
        if not assignee:
            raise ServiceError(_("Say who will repair it."))
        worker = _worker_named(assignee)
        ticket.assignee = worker.display_name if worker is not None else assignee
        ticket.assigned_to_id = worker.id if worker is not None else None
        note = note or ticket.assignee
    if status == RepairStatus.REJECTED and not note:
        raise ServiceError(_("Give the reason for rejecting ticket #%(number)d.", number=ticket.id))
    old = ticket.status
    with conflict_if_changed_meanwhile(_("Someone else moved ticket #%(number)d just now; look at it again.",
                                         number=ticket.id)):
        ticket.steps.append(RepairStep(status=status, note=note, actor_id=actor.id))
        ticket.status = status
        if not status.is_open:
            ticket.closed_at = utcnow()
    if status == RepairStatus.FIXED and ticket.item is not None and ticket.item.condition != Condition.GOOD:
        inventory.set_condition(ticket.item, Condition.GOOD, actor=actor,
                                note=_("Repaired (ticket #%(number)d)", number=ticket.id))
    audit.record("repair.step", room=ticket.room, ticket=ticket.id, old=old.value, new=status.value,
                 note=note, assignee=ticket.assignee, actor=actor)
    if ticket.reported_by is not None and ticket.reported_by_id != actor.id:
        notify([ticket.reported_by], "repair_step", ticket=ticket.id, status=status.lazy_label,
               room=ticket.room.code, description=ticket.description[:200], note=note)


def load(ticket_id: int) -> RepairTicket | None:
    return db.session.scalar(sa.select(RepairTicket).where(RepairTicket.id == ticket_id).options(
        joinedload(RepairTicket.room).joinedload(Room.building), joinedload(RepairTicket.item),
        selectinload(RepairTicket.steps).joinedload(RepairStep.actor), selectinload(RepairTicket.photos)))


@dataclass
class TicketFilters:
    status: str | None = None        # a RepairStatus value, "open" (the default) or "all"
    building_id: int | None = None
    room_number: str | None = None   # part of a room's number ("30" finds 301 and 302), any letter case


def building_options(user) -> list[tuple[int, str]]:
    """The building filter's (id, label) pairs: a building manager's own buildings, every building for anyone
    else; kept until the buildings change (a campus has a hundred, read on every visit of the page)."""
    if user.role != Role.BUILDING_MANAGER:
        return [(building.id, f"{building.code} {building.name}") for building in building_names()]

    def compute() -> list[tuple[int, str]]:
        query = sa.select(Building.id, Building.code, Building.name).order_by(Building.code).where(
            visible_buildings_clause(user, Building.id))
        return [(building_id, f"{code} {name}") for building_id, code, name in db.session.execute(query)]

    return kept("facilities.building_options", compute, depends_on=("buildings", "managed_buildings"),
                key=(user.id,))


def _filtered(user, filters: TicketFilters):
    query = sa.select(RepairTicket).join(Room, Room.id == RepairTicket.room_id).where(visible_tickets_clause(user))
    if filters.status in (None, "", "open"):
        query = query.where(RepairTicket.status.in_(OPEN_REPAIR_STATUSES))
    elif filters.status != "all":
        query = query.where(RepairTicket.status == RepairStatus(filters.status))
    if filters.building_id:
        query = query.where(Room.building_id == filters.building_id)
    if filters.room_number:
        # "301a" finds 301A: room codes are read without letter case everywhere (campus.codes)
        query = query.where(Room.number.icontains(filters.room_number, autoescape=True))
    return query


def tickets(user, filters: TicketFilters, *, page: int = 1, per_page: int | None = 50) -> tuple[list[RepairTicket], int]:
    """The tickets ``user`` may see, oldest first (the longest waiting matter most), and how many in all."""
    query = _filtered(user, filters).options(
        joinedload(RepairTicket.room).joinedload(Room.building), joinedload(RepairTicket.item),
    ).order_by(RepairTicket.reported_at, RepairTicket.id)
    if not per_page:  # the export names who reported each ticket; the page does not
        rows = list(db.session.scalars(query.options(joinedload(RepairTicket.reported_by))))
        return rows, len(rows)
    # The page's rows and, beside each, how many tickets match in all: one query where two were.
    found = db.session.execute(query.add_columns(sa.func.count().over())
                               .limit(per_page).offset((page - 1) * per_page)).all()
    if found or page == 1:
        return [ticket for ticket, _total in found], found[0][1] if found else 0
    # Past the last page: how many there are, for the page to say.
    return [], db.session.scalar(sa.select(sa.func.count()).select_from(_filtered(user, filters).subquery()))


@dataclass
class BuildingBacklog:
    building: BuildingName
    open: int
    waiting: int        # reported, nobody assigned yet
    oldest: datetime

    @property
    def waited(self) -> timedelta:
        return utcnow() - self.oldest


def open_by_building(user) -> list[BuildingBacklog]:
    """Open tickets per building with the oldest one's report time, in one query, kept until a ticket or room
    changes (how long they waited is counted when shown)."""
    return kept("facilities.open_by_building", lambda: _open_by_building(user),
                key=("all",) if sees_everything(user) else ("user", user.id),
                # the tickets, and the rooms a counselor or building manager sees (residence.scopes)
                depends_on=("repair_tickets", "rooms", "buildings", "managed_buildings", "assignments", "beds",
                            "students", "counselor_scopes", "users"))


def _open_by_building(user) -> list[BuildingBacklog]:
    rows = db.session.execute(
        sa.select(Building.id, Building.code, Building.name, sa.func.count(RepairTicket.id),
                  sa.func.count(RepairTicket.id).filter(RepairTicket.status == RepairStatus.REPORTED),
                  sa.func.min(RepairTicket.reported_at))
        .join(Room, Room.building_id == Building.id).join(RepairTicket, RepairTicket.room_id == Room.id)
        .where(RepairTicket.status.in_(OPEN_REPAIR_STATUSES), visible_tickets_clause(user))
        .group_by(Building.id, Building.code, Building.name).order_by(Building.code))
    return [BuildingBacklog(BuildingName(building_id, code, name), total, waiting, oldest)
            for building_id, code, name, total, waiting, oldest in rows]


def of_room(room_id: int, *, open_only: bool = False) -> list[RepairTicket]:
    query = (sa.select(RepairTicket).where(RepairTicket.room_id == room_id)
             .options(joinedload(RepairTicket.item), joinedload(RepairTicket.reported_by))
             .order_by(RepairTicket.reported_at.desc()))
    if open_only:
        query = query.where(RepairTicket.status.in_(OPEN_REPAIR_STATUSES))
    return list(db.session.scalars(query))


def export_rows(ticket_list: list[RepairTicket]) -> tuple[list[str], list[list]]:
    headers = [_("Ticket"), _("Building"), _("Room"), _("Item"), _("Description"), _("Status"), _("Assigned to"),
               _("Reported by"), _("Reported at"), _("Closed at"), _("Days open")]
    zone = campus_zone()
    local = lambda moment: moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""
    rows = [[t.id, t.room.building.code, t.room.code, str(t.item.kind.label) if t.item else "", t.description,
             str(t.status.label), t.assignee, t.reported_by.display_name if t.reported_by else "",
             local(t.reported_at), local(t.closed_at), round(t.age.total_seconds() / 86400, 1)]
            for t in ticket_list]
    return headers, rows
