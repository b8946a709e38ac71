"""Check in, answer the condition report, check out, change rooms.

Services change the session and flush; the view commits once, so a refusal
anywhere (a bad key row, a taken bed, a photo that is not one) leaves nothing behind.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, joinedload, selectinload, with_expression

from .. import audit
from ..access.cards import key as card_key
from ..access.cards import normalise
from ..access.models import Card
from ..campus.codes import find_bed
from ..campus.models import Bed, Building, Room
from ..core.clock import campus_today, campus_zone, utcnow
from ..core.database import conflict_on_duplicate
from ..core.errors import ServiceError
from ..extensions import db
from ..facilities import services as facilities
from ..facilities.models import Condition, InventoryItem
from ..notifications import accounts_by_student, accounts_of, notify, notify_each
from ..photos import Photo, store_photos
from ..residence import services as residence
from ..residence.models import Assignment, select_current_beds
from ..students import services as students
from ..students.models import Student
from .models import (
    CHECK_OUT_REASON,
    MAX_CHARGE_CENTS,
    ROOM_CHANGE_REASON,
    CheckIn,
    CheckOut,
    Damage,
    KeyIssue,
    KeyKind,
    KeyStatus,
    ReportItem,
    check_in_photos,
    checked_out,
    yuan,
)

DEFAULT_ACK_HOURS = 72


# --- settings ---------------------------------------------------------------------------------------------------

def ack_hours() -> int:
    """How long a student has to acknowledge or dispute the condition report (CHECKIN_ACK_HOURS)."""
    return int(current_app.config.get("CHECKIN_ACK_HOURS", DEFAULT_ACK_HOURS))


def self_service_allowed() -> bool:
    """Students may check themselves in from their phone (CHECKIN_SELF_SERVICE, on unless turned off)."""
    return bool(current_app.config.get("CHECKIN_SELF_SERVICE", True))


# --- what comes in from the forms -------------------------------------------------------------------------------

@dataclass
class KeyInput:
    kind: KeyKind
    label: str
    row: int | None = None  # the form's row, for refusals (blank rows in between are skipped)

    @property
    def name(self) -> str:
        return f"{self.kind.label} {self.label}"


@dataclass
class ItemState:
    condition: Condition
    note: str = ""


@dataclass
class KeyReturn:
    returned: bool
    charge_cents: int | None = None


@dataclass
class DamageInput:
    description: str
    amount_cents: int
    report_item_id: int | None = None


@dataclass
class Inspection:
    """What staff found at check-out: item states (by report item id), keys (by key id), damages."""

    items: dict[int, ItemState]
    keys: dict[int, KeyReturn]
    damages: list[DamageInput]
    note: str = ""
    photos: list | None = None


def parse_yuan(text: str | None, *, what: str) -> int | None:
    """Yuan as typed ("120", "120.5", "¥120.50") to cents; None when blank. Refuses negative or absurd amounts."""
    text = (text or "").strip().replace("¥", "").replace("￥", "").replace(",", "").replace("元", "")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ServiceError(_("%(what)s: %(text)s is not an amount in yuan.", what=what, text=text)) from None
    if not amount.is_finite():
        raise ServiceError(_("%(what)s: %(text)s is not an amount in yuan.", what=what, text=text))
    if amount < 0:
        raise ServiceError(_("%(what)s: the amount cannot be negative.", what=what))
    if amount * 100 > MAX_CHARGE_CENTS:
        raise ServiceError(_("%(what)s: %(amount)s yuan is more than the most a charge can be (%(limit)s yuan).",
                             what=what, amount=text, limit=yuan(MAX_CHARGE_CENTS)))
    if amount != amount.quantize(Decimal("0.01")):
        raise ServiceError(_("%(what)s: give the amount in yuan with at most two decimals.", what=what))
    cents = int(amount * 100)
    return cents


# --- looking things up ------------------------------------------------------------------------------------------

def _check_in_query():
    return sa.select(CheckIn).options(
        joinedload(CheckIn.assignment).joinedload(Assignment.student),
        joinedload(CheckIn.assignment).joinedload(Assignment.bed).joinedload(Bed.room).joinedload(Room.building),
        selectinload(CheckIn.items), selectinload(CheckIn.keys), selectinload(CheckIn.photos),
        selectinload(CheckIn.check_out_photos),
        selectinload(CheckIn.check_out).selectinload(CheckOut.damages).joinedload(Damage.report_item),
        joinedload(CheckIn.checked_in_by))


def load_check_in(check_in_id: int) -> CheckIn | None:
    return db.session.scalar(_check_in_query().where(CheckIn.id == check_in_id))


def check_in_of(assignment: Assignment | None) -> CheckIn | None:
    if assignment is None:
        return None
    return db.session.scalar(_check_in_query().where(CheckIn.assignment_id == assignment.id))


def latest_check_in(student: Student) -> CheckIn | None:
    """The student's most recent check-in, current or checked out, for the badge on their page (its check-out's
    charges are read when there is one). Its assignment comes from the session when the page has the student's
    housing history loaded."""
    return db.session.scalar(
        sa.select(CheckIn).join(Assignment, Assignment.id == CheckIn.assignment_id)
        .options(*_badge_loading())
        .where(Assignment.student_id == student.id)
        .order_by(CheckIn.checked_in_at.desc(), CheckIn.id.desc()).limit(1))


def history_of(student: Student, *, leaving_out: CheckIn | None = None) -> list[CheckIn]:
    """The student's check-ins, newest first, without ``leaving_out`` (the current one, shown on its own)."""
    where = [Assignment.student_id == student.id]
    if leaving_out is not None:
        where.append(CheckIn.id != leaving_out.id)
    return list(db.session.scalars(
        _check_in_query().join(Assignment, Assignment.id == CheckIn.assignment_id)
        .where(*where)
        .order_by(CheckIn.checked_in_at.desc(), CheckIn.id.desc())).unique())


def current_check_in(student: Student) -> CheckIn | None:
    """The check-in of the student's current assignment, if they have checked in to it."""
    return db.session.scalar(
        _check_in_query().join(Assignment, Assignment.id == CheckIn.assignment_id)
        .where(Assignment.student_id == student.id, Assignment.is_current))


def find_student(text: str) -> Student | None:
    """A student by student number, or by a scanned campus card (as the access system knows it)."""
    text = (text or "").strip()
    if not text:
        return None
    student = students.find_by_number(text)
    if student is not None:
        return student
    try:
        number = normalise(text)
    except ValueError:
        return None
    return db.session.scalar(sa.select(Student).join(Card, Card.student_id == Student.id)
                             .where(card_key(Card.number) == card_key(number)))


def bed_by_code(code: str) -> Bed:
    """A bed by its code, building-room-bed (e.g. A1-102-1); refused, naming the field, when there is none."""
    bed = find_bed(code)
    if bed is None:
        raise ServiceError(_("New bed: there is no bed %(bed)s (write it as building-room-bed, e.g. A1-102-1).",
                             bed=code))
    return bed


def suggested_keys(assignment: Assignment) -> list[KeyInput]:
    """What the desk usually hands out: the room and mailbox keys (labelled with the room; staff correct the
    label to the key's own number) and the campus card the access system knows for the student."""
    room = assignment.bed.room
    keys = [KeyInput(KeyKind.ROOM_KEY, room.code), KeyInput(KeyKind.MAILBOX_KEY, room.code)]
    card = db.session.scalar(sa.select(Card.number).where(Card.student_id == assignment.student_id,
                                                          Card.kind == "card")
                             .order_by(Card.created_at.desc(), Card.id.desc()).limit(1))
    if card:
        keys.append(KeyInput(KeyKind.ACCESS_CARD, card))
    return keys


# --- checking in ------------------------------------------------------------------------------------------------

def _check_keys(keys: list[KeyInput]) -> list[KeyInput]:
    seen = set()
    kept = []
    for position, key in enumerate(keys, start=1):
        number = key.row or position
        label = key.label.strip()
        if not label:
            raise ServiceError(_("Key row %(row)d: give the key's number or label.", row=number))
        if len(label) > 64:
            raise ServiceError(_("Key row %(row)d: the label is longer than 64 characters.", row=number))
        if (key.kind, label) in seen:
            raise ServiceError(_("Key row %(row)d: %(key)s is listed twice.", row=number,
                                 key=KeyInput(key.kind, label).name))
        seen.add((key.kind, label))
        kept.append(KeyInput(key.kind, label, number))
    return kept


def check_in(student: Student, *, keys: list[KeyInput] = (), items: dict[int, ItemState] | None = None,
             note: str = "", photos=None, actor=None, self_service: bool = False) -> CheckIn:
    """Check ``student`` in to the bed of their current assignment, with keys and a condition report.

    ``items`` overrides the inventory's recorded condition of items (by InventoryItem id) as found today.
    """
    assignment = residence.current_assignment(student)
    if assignment is None:
        raise ServiceError(_("%(student)s has no bed assigned; assign one before checking in.",
                             student=student.display))
    return _check_in_to(assignment, keys=keys, items=items, note=note, photos=photos, actor=actor,
                        self_service=self_service)


def _check_in_to(assignment: Assignment, *, keys, items, note, photos, actor, self_service) -> CheckIn:
    student = assignment.student
    if self_service and not self_service_allowed():
        raise ServiceError(_("Self check-in is turned off; please come to the check-in desk."))
    existing = db.session.scalar(sa.select(CheckIn).where(CheckIn.assignment_id == assignment.id))
    if existing is not None:
        raise ServiceError(_("%(student)s already checked in to bed %(bed)s on %(date)s.",
                             student=student.display, bed=assignment.bed.code,
                             date=format_datetime(existing.checked_in_at, "short")))
    keys = _check_keys(list(keys))
    items = items or {}
    inventory = facilities.items_in(assignment.bed.room_id)
    known = {item.id for item in inventory}
    for item_id in items:
        if item_id not in known:
            raise ServiceError(_("Item %(item)d is not in room %(room)s.", item=item_id,
                                 room=assignment.bed.room.code))
    actor = actor or audit.current_actor()
    stored = store_photos(photos, actor=actor) if photos else []
    now = utcnow()
    record = CheckIn(assignment=assignment, checked_in_at=now, checked_in_by=actor, self_service=self_service,
                     ack_due_at=now + timedelta(hours=ack_hours()), note=(note or "").strip()[:500])
    checked_in_already = _("%(student)s was checked in by someone else just now.", student=student.display)
    with conflict_on_duplicate(lambda key: checked_in_already if "assignment_id" in key or "check_ins" in key
                               else None):
        db.session.add(record)
    # One INSERT for the report and one for the keys, however many rows: the desk must stay quick.
    rows = report_rows(inventory, items)
    if rows:
        db.session.execute(sa.insert(ReportItem), [{"check_in_id": record.id, **row} for row in rows])
    if keys:
        db.session.execute(sa.insert(KeyIssue), [{"check_in_id": record.id, "kind": key.kind, "label": key.label,
                                                  "status": KeyStatus.ISSUED, "issued_at": now} for key in keys])
    db.session.expire(record, ["items", "keys"])
    _link_photos(record, stored, at_check_out=False)
    audit.record("checkin.check_in", student=student, room=assignment.bed.room, actor=actor,
                 bed=assignment.bed.code, keys=[f"{k.kind.value}:{k.label}" for k in keys],
                 self_service=self_service, photos=len(stored))
    if not self_service:  # a student checking themselves in has the report before them
        notify(accounts_of([student]), "checkin_report_waiting", bed=assignment.bed.code,
               deadline=record.ack_due_at.astimezone(campus_zone()).strftime("%Y-%m-%d %H:%M"))
    return record


def report_rows(inventory, found: dict[int, ItemState] | None = None) -> list[dict]:
    """A condition report's rows for a room's ``inventory``: each item as recorded, or as ``found`` today."""
    rows = []
    for item in inventory:
        seen = (found or {}).get(item.id)
        rows.append({"inventory_item_id": item.id, "kind": item.kind, "asset_label": item.asset_label or "",
                     "description": item.description, "condition": seen.condition if seen else item.condition,
                     "note": seen.note.strip()[:500] if seen else ""})
    return rows


def _link_photos(record: CheckIn, photos, *, at_check_out: bool) -> None:
    if photos:
        db.session.execute(check_in_photos.insert(), [
            {"check_in_id": record.id, "photo_id": photo.id, "at_check_out": at_check_out} for photo in photos])


def add_keys(record: CheckIn, keys: list[KeyInput], *, actor=None) -> list[KeyIssue]:
    """Hand out more keys on an existing check-in (e.g. after a self check-in, at the desk)."""
    if record.check_out is not None:
        raise ServiceError(_("%(student)s has checked out; no keys can be handed out on this check-in.",
                             student=record.assignment.student.display))
    if not keys:
        raise ServiceError(_("Give at least one key's number or label."))
    keys = _check_keys(keys)
    have = {(k.kind, k.label) for k in record.keys}
    added = []
    for key in keys:
        if (key.kind, key.label) in have:
            raise ServiceError(_("Key row %(row)d: %(key)s was already handed out.", row=key.row, key=key.name))
        issue = KeyIssue(kind=key.kind, label=key.label, issued_at=utcnow())
        record.keys.append(issue)
        added.append(issue)
    db.session.flush()
    audit.record("checkin.keys", student=record.assignment.student, room=record.assignment.bed.room, actor=actor,
                 keys=[f"{k.kind.value}:{k.label}" for k in keys])
    return added


# --- the student's answer to the report -------------------------------------------------------------------------

def _require_answerable(record: CheckIn, student: Student) -> None:
    if record.assignment.student_id != student.id:
        raise ServiceError(_("This is not your check-in."))
    if record.acknowledged_at is not None:
        raise ServiceError(_("You already acknowledged this report."))
    if record.check_out is not None:
        raise ServiceError(_("You have checked out; the report is closed."))
    if utcnow() >= record.ack_due_at:
        raise ServiceError(_("The deadline to answer this report passed on %(date)s; it counts as accepted.",
                             date=format_datetime(record.ack_due_at, "short")))


def acknowledge(record: CheckIn, student: Student) -> None:
    _require_answerable(record, student)
    record.acknowledged_at = utcnow()
    db.session.flush()
    audit.record("checkin.acknowledge", student=student, room=record.assignment.bed.room,
                 disputed=len(record.disputed_items))


def dispute(record: CheckIn, student: Student, item_id: int, note: str) -> ReportItem:
    _require_answerable(record, student)
    item = next((item for item in record.items if item.id == item_id), None)
    if item is None:
        raise ServiceError(_("That item is not on your report."))
    note = (note or "").strip()
    if not note:
        raise ServiceError(_("%(item)s: say what is wrong with the report.", item=item.name))
    item.disputed_at = utcnow()
    item.dispute_note = note[:500]
    db.session.flush()
    audit.record("checkin.dispute", student=student, room=record.assignment.bed.room, item=item.name,
                 note=item.dispute_note)
    return item


def resolve_dispute(record: CheckIn, item_id: int, condition: Condition, note: str, *, actor=None) -> ReportItem:
    """The housing office answers a disputed item: the check-in condition stands or is corrected."""
    item = next((item for item in record.items if item.id == item_id), None)
    if item is None or item.disputed_at is None:
        raise ServiceError(_("That item is not disputed on this report."))
    if item.resolved_at is not None:
        raise ServiceError(_("%(item)s: the dispute was already answered.", item=item.name))
    note = (note or "").strip()
    if not note:
        raise ServiceError(_("%(item)s: say how the dispute was settled.", item=item.name))
    old = item.condition
    item.condition = condition
    item.resolved_at = utcnow()
    item.resolution = note[:500]
    db.session.flush()
    audit.record("checkin.resolve", student=record.assignment.student, room=record.assignment.bed.room,
                 actor=actor, item=item.name, old=old.value, new=condition.value, note=item.resolution)
    return item


# --- checking out -----------------------------------------------------------------------------------------------

def require_checked_in(student: Student) -> CheckIn:
    """The student's current check-in, or a refusal saying why they cannot check out (or change rooms)."""
    assignment = residence.current_assignment(student)
    if assignment is None:
        raise ServiceError(_("%(student)s has no bed, so cannot check out.", student=student.display))
    record = check_in_of(assignment)
    if record is None:
        raise ServiceError(_("%(student)s has not checked in to bed %(bed)s, so cannot check out; "
                             "vacate the bed instead.", student=student.display, bed=assignment.bed.code))
    if record.check_out is not None:  # only if the assignment was reopened by hand
        raise ServiceError(_("%(student)s has already checked out.", student=student.display))
    return record


def _stock_of(record: CheckIn) -> dict[int, InventoryItem]:
    """The inventory items still recorded for the report's items, by inventory item id (one query)."""
    ids = [item.inventory_item_id for item in record.items if item.inventory_item_id is not None]
    if not ids:
        return {}
    return {item.id: item for item in db.session.scalars(sa.select(InventoryItem).where(InventoryItem.id.in_(ids)))}


def now_conditions(record: CheckIn) -> dict[int, Condition]:
    """Each report item's condition as the inventory has it now (by report item id), for the check-out form;
    an item gone from the inventory keeps its check-in condition."""
    stock = _stock_of(record)
    return {item.id: _condition_now(item, stock) for item in record.items}


def _condition_now(item: ReportItem, stock: dict[int, InventoryItem]) -> Condition:
    held = stock.get(item.inventory_item_id)
    return held.condition if held is not None else item.condition


def _inspect(record: CheckIn, inspection: Inspection, *, reason: str, actor) -> CheckOut:
    """Record what was found, keys back and damages; the caller ends the assignment."""
    items = {item.id: item for item in record.items}
    for item_id in inspection.items:
        if item_id not in items:
            raise ServiceError(_("Item %(item)d is not on this check-in's report.", item=item_id))
    keys = {key.id: key for key in record.keys}
    for key in record.keys:
        if key.status == KeyStatus.ISSUED and key.id not in inspection.keys:
            raise ServiceError(_("%(key)s: say whether it was returned or is missing.", key=key.name))
    for key_id, answer in inspection.keys.items():
        if key_id not in keys:
            raise ServiceError(_("Key %(key)d was not handed out on this check-in.", key=key_id))
        if answer.returned and answer.charge_cents:
            raise ServiceError(_("%(key)s: a returned key cannot carry a charge.", key=keys[key_id].name))
    for number, damage in enumerate(inspection.damages, start=1):
        if not damage.description.strip():
            raise ServiceError(_("Damage row %(row)d: describe the damage.", row=number))
        if damage.amount_cents <= 0:
            raise ServiceError(_("Damage row %(row)d: the charge must be more than 0 yuan.", row=number))
        if damage.amount_cents > MAX_CHARGE_CENTS:
            raise ServiceError(_("Damage row %(row)d: the charge is more than %(limit)s yuan.", row=number,
                                 limit=yuan(MAX_CHARGE_CENTS)))
        if damage.report_item_id is not None and damage.report_item_id not in items:
            raise ServiceError(_("Damage row %(row)d: that item is not on this check-in's report.", row=number))
    actor = actor or audit.current_actor()
    stored = store_photos(inspection.photos, actor=actor) if inspection.photos else []
    now = utcnow()
    # Items not inspected are recorded as the inventory has them now; the inventory follows what was found.
    stock = _stock_of(record)
    for item in record.items:
        held = stock.get(item.inventory_item_id)
        state = inspection.items.get(item.id) or ItemState(_condition_now(item, stock))
        item.check_out_condition = state.condition
        item.check_out_note = state.note.strip()[:500]
        if held is not None and held.condition != state.condition:
            facilities.set_condition(held, state.condition, actor=actor,
                                     note=state.note.strip() or _("Found at check-out of %(student)s.",
                                                                  student=record.assignment.student.display))
    for key in record.keys:
        answer = inspection.keys.get(key.id)
        if answer is None:
            continue
        key.status = KeyStatus.RETURNED if answer.returned else KeyStatus.MISSING
        key.settled_at = now
        key.charge_cents = None if answer.returned else answer.charge_cents
    check_out = CheckOut(checked_out_at=now, checked_out_by=actor, reason=reason,
                         note=(inspection.note or "").strip()[:500])
    for damage in inspection.damages:
        check_out.damages.append(Damage(description=damage.description.strip()[:500],
                                        amount_cents=damage.amount_cents, report_item_id=damage.report_item_id))
    with conflict_on_duplicate(_("%(student)s was checked out by someone else just now.",
                                 student=record.assignment.student.display)):
        db.session.add(check_out)
        check_out.check_in = record
    _link_photos(record, stored, at_check_out=True)
    audit.record("checkin.check_out", student=record.assignment.student, room=record.assignment.bed.room,
                 actor=actor, bed=record.assignment.bed.code, reason=reason,
                 damages=len(check_out.damages), charged=yuan(check_out.total_cents),
                 missing_keys=[k.name for k in record.keys if k.status == KeyStatus.MISSING])
    return check_out


def check_out(student: Student, inspection: Inspection, *, actor=None) -> CheckOut:
    """Inspect, charge, take the keys back, then free the bed and close the assignment: one change."""
    record = require_checked_in(student)
    done = _inspect(record, inspection, reason=CHECK_OUT_REASON, actor=actor)
    residence.vacate(student, reason=CHECK_OUT_REASON, actor=actor or audit.current_actor())
    return done


def change_room(student: Student, bed: Bed, inspection: Inspection, *, keys: list[KeyInput] = (),
                items: dict[int, ItemState] | None = None, actor=None) -> CheckIn:
    """Check out of the old bed and in to ``bed`` as one change (the residence move keeps the history)."""
    record = require_checked_in(student)
    if bed.id == record.assignment.bed_id:
        raise ServiceError(_("%(student)s already lives in %(bed)s.", student=student.display, bed=bed.code))
    actor = actor or audit.current_actor()
    _inspect(record, inspection, reason=ROOM_CHANGE_REASON, actor=actor)
    assignment = residence.move(student, bed, reason=ROOM_CHANGE_REASON, actor=actor)
    return _check_in_to(assignment, keys=keys, items=items, note="", photos=None, actor=actor, self_service=False)


# --- lists for the desk and the office --------------------------------------------------------------------------

@dataclass
class Progress:
    building: Building
    assigned: int
    checked_in: int

    @property
    def expected(self) -> int:
        return self.assigned - self.checked_in


def progress_by_building(*, within: sa.ColumnElement[bool] | None = None) -> list[Progress]:
    """Per building: students with a current bed, and how many of them have checked in; one query.
    ``within``: a scope's clause on Room.building_id (a building manager's buildings)."""
    query = (
        select_current_beds(Building, sa.func.count(Assignment.id), sa.func.count(CheckIn.id))
        .outerjoin(CheckIn, CheckIn.assignment_id == Assignment.id)
        .where(within if within is not None else sa.true())
        .group_by(Building.id).order_by(Building.code))
    return [Progress(building, int(assigned), int(done)) for building, assigned, done in db.session.execute(query)]


def _campus_day_start() -> datetime:
    return datetime.combine(campus_today(), time.min, tzinfo=campus_zone())


def _bed_joins(query):
    return (query.join(Bed, Bed.id == Assignment.bed_id).join(Room, Room.id == Bed.room_id)
            .join(Building, Building.id == Room.building_id))


def todays_check_ins(*, building_id: int | None = None, page: int = 1, per_page: int = 25,
                     within: sa.ColumnElement[bool] | None = None):
    """Check-ins since midnight on campus, newest first: (rows of CheckIn, total)."""
    where = [CheckIn.checked_in_at >= _campus_day_start(), within if within is not None else sa.true()]
    if building_id:
        where.append(Room.building_id == building_id)
    base = _bed_joins(sa.select(CheckIn.id).join(Assignment, Assignment.id == CheckIn.assignment_id)).where(*where)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.subquery()))
    rows = db.session.scalars(
        _bed_joins(sa.select(CheckIn).join(Assignment, Assignment.id == CheckIn.assignment_id))
        .options(joinedload(CheckIn.assignment).joinedload(Assignment.student),
                 joinedload(CheckIn.assignment).joinedload(Assignment.bed).joinedload(Bed.room)
                 .joinedload(Room.building), selectinload(CheckIn.keys))
        .where(*where).order_by(CheckIn.checked_in_at.desc(), CheckIn.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).unique()
    return list(rows), total


def expected(*, building_id: int | None = None, page: int = 1, per_page: int = 25,
             within: sa.ColumnElement[bool] | None = None):
    """Students with a current bed who have not checked in to it: (Assignments, total)."""
    not_in = ~sa.exists().where(CheckIn.assignment_id == Assignment.id)
    where = [not_in, within if within is not None else sa.true()]
    if building_id:
        where.append(Room.building_id == building_id)
    total = db.session.scalar(select_current_beds(sa.func.count(Assignment.id)).where(*where))
    rows = db.session.scalars(
        select_current_beds(Assignment)
        .options(contains_eager(Assignment.student),
                 contains_eager(Assignment.bed).contains_eager(Bed.room).contains_eager(Room.building))
        .where(*where).order_by(Building.code, Room.number, Bed.label)
        .limit(per_page).offset((page - 1) * per_page))
    return list(rows), total


REPORT_FILTERS = ("pending", "overdue", "disputed")


def remind_reports_due(now: datetime | None = None, *, ahead: timedelta = timedelta(hours=24),
                       every: timedelta = timedelta(hours=1)) -> int:
    """Remind each student whose unanswered report falls due ``ahead`` from now; flushes only.

    Meant to run once every ``every`` (the scheduler's slot): a report is reminded by the run whose slot
    its "due minus ahead" falls in, so exactly once, with nothing kept to say it was. Returns how many.
    """
    now = now or utcnow()
    due = db.session.scalars(
        sa.select(CheckIn).options(joinedload(CheckIn.assignment).joinedload(Assignment.bed))
        .where(~checked_out(), CheckIn.acknowledged_at.is_(None),
               CheckIn.ack_due_at > now + ahead - every, CheckIn.ack_due_at <= now + ahead)).unique().all()
    zone = campus_zone()
    accounts = accounts_by_student(record.assignment.student_id for record in due)
    notify_each((accounts[record.assignment.student_id], "checkin_report_due",
                 {"bed": record.assignment.bed.code,
                  "deadline": record.ack_due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")}) for record in due)
    return len(due)


def reports(state: str = "pending", *, page: int = 1, per_page: int = 50):
    """Condition reports of current check-ins waiting for the student ("pending"), past their deadline
    without an answer ("overdue": deemed acknowledged), or with a disputed item: (CheckIns, total)."""
    now = utcnow()
    where = [~checked_out()]
    if state == "overdue":
        where += [CheckIn.acknowledged_at.is_(None), CheckIn.ack_due_at <= now]
        order = CheckIn.ack_due_at.desc()
    elif state == "disputed":
        where.append(sa.exists().where(ReportItem.check_in_id == CheckIn.id, ReportItem.disputed_at.is_not(None),
                                       ReportItem.resolved_at.is_(None)))
        order = CheckIn.checked_in_at.desc()
    else:
        where += [CheckIn.acknowledged_at.is_(None), CheckIn.ack_due_at > now]
        order = CheckIn.ack_due_at
    total = db.session.scalar(sa.select(sa.func.count(CheckIn.id)).where(*where))
    rows = db.session.scalars(
        sa.select(CheckIn).options(
            joinedload(CheckIn.assignment).joinedload(Assignment.student),
            joinedload(CheckIn.assignment).joinedload(Assignment.bed).joinedload(Bed.room).joinedload(Room.building),
            selectinload(CheckIn.items), selectinload(CheckIn.check_out))
        .where(*where).order_by(order, CheckIn.id).limit(per_page).offset((page - 1) * per_page)).unique()
    return list(rows), total


def recent_check_outs(*, page: int = 1, per_page: int = 50):
    total = db.session.scalar(sa.select(sa.func.count(CheckOut.id)))
    rows = db.session.scalars(
        sa.select(CheckOut).options(
            joinedload(CheckOut.check_in).joinedload(CheckIn.assignment).joinedload(Assignment.student),
            joinedload(CheckOut.check_in).joinedload(CheckIn.assignment).joinedload(Assignment.bed)
            .joinedload(Bed.room).joinedload(Room.building),
            joinedload(CheckOut.check_in).selectinload(CheckIn.keys),
            selectinload(CheckOut.damages).joinedload(Damage.report_item))
        .order_by(CheckOut.checked_out_at.desc(), CheckOut.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).unique()
    return list(rows), total


def _badge_loading():
    """What a check-in's badge reads on a page showing many (checkin/_macros.html state_badge): its check-out,
    and how many of its items are open disputes, counted by the database rather than every item loaded."""
    open_disputes = (sa.select(sa.func.count())
                     .where(ReportItem.check_in_id == CheckIn.id, ReportItem.disputed_at.is_not(None),
                            ReportItem.resolved_at.is_(None))
                     .scalar_subquery())
    return joinedload(CheckIn.check_out), with_expression(CheckIn.open_dispute_count, open_disputes)


def by_assignment(assignment_ids: list[int]) -> dict[int, CheckIn]:
    """The check-ins of the given assignments, keyed by assignment id, for a list's badges, in one query."""
    if not assignment_ids:
        return {}
    rows = db.session.scalars(sa.select(CheckIn).options(*_badge_loading())
                              .where(CheckIn.assignment_id.in_(assignment_ids)))
    return {record.assignment_id: record for record in rows}


def room_check_ins(room_id: int) -> dict[int, CheckIn]:
    """The check-ins of the room's current residents, keyed by assignment id, for the room page's badges."""
    rows = db.session.scalars(
        select_current_beds(CheckIn).join(CheckIn, CheckIn.assignment_id == Assignment.id)
        .options(*_badge_loading())
        .where(Bed.room_id == room_id))
    return {record.assignment_id: record for record in rows}


def photo_of(record: CheckIn, photo_id: int) -> Photo | None:
    """A photo linked to the check-in (taken at check-in or at check-out), or None."""
    return db.session.scalar(sa.select(Photo).join(check_in_photos, check_in_photos.c.photo_id == Photo.id)
                             .where(check_in_photos.c.check_in_id == record.id, Photo.id == photo_id))
