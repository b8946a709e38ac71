"""The leaving rule: what happens to a check-in when the bed changes anywhere but the desk.

The student page's move and vacate, an allocation run or requests round, a student import: each ends or
changes assignments through ``residence.services`` (move, vacate, relocate), which calls the rule installed
here at app start (residence sits below check-in, so it cannot import it). The office chooses, in the
check-in settings:

- ``refuse`` (the default): a change that touches anyone with an open check-in is refused whole, naming
  every such student; staff check them out (or change their room) at the desk first.
- ``check_out``: they are checked out in the same transaction. Nothing is inspected (the report's items are
  recorded as the inventory has them) and keys not handed back stay "handed out" on the closed check-in,
  open for the desk. A move carries the check-in over to the new bed, as the desk's room change does: a new
  check-in with the new room's condition report, and the keys still out come along with the student.

Undoing a change (an allocation run's rollback) puts back what the rule did: a check-in the change carried
over goes back whatever the setting, with the original check-in's report, acknowledgement and keys.
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import has_request_context, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from .. import audit
from ..core.clock import utcnow
from ..core.database import conflict_on_duplicate
from ..core.errors import ServiceError
from ..extensions import db
from ..facilities import services as facilities
from ..residence import services as residence
from ..residence.models import Assignment
from .models import (
    CHECK_OUT_REASON,
    ROOM_CHANGE_REASON,
    CheckIn,
    CheckInSettings,
    CheckOut,
    KeyIssue,
    KeyStatus,
    LeavingPolicy,
    ReportItem,
    checked_out,
)
from .services import ack_hours, report_rows

SETTINGS_ROW = 1
IDS_PER_QUERY = 5000


def settings() -> CheckInSettings:
    """The office's check-in settings; the defaults (refuse) until staff change them."""
    row = db.session.get(CheckInSettings, SETTINGS_ROW)
    # Not added to the session: reading the settings never writes.
    return row or CheckInSettings(id=SETTINGS_ROW, leaving=LeavingPolicy.REFUSE)


def set_leaving_policy(policy: LeavingPolicy, *, actor=None) -> CheckInSettings:
    row = settings()
    old = row.leaving
    actor = actor or audit.current_actor()
    row.leaving, row.updated_at, row.updated_by_id = policy, utcnow(), getattr(actor, "id", None)
    with conflict_on_duplicate(_("Someone else changed the check-in settings at the same moment; "
                                 "look at them again."), savepoint=False):
        db.session.add(row)
    audit.record("checkin.settings", actor=actor, leaving=policy.value, old=old.value if old else None)
    return row


def _open_check_ins(assignment_ids: list[int]) -> dict[int, CheckIn]:
    """Check-ins of these assignments not checked out, by assignment id."""
    found = {}
    # In slices: a large import's departures would pass SQLite's limit on bound parameters.
    for start in range(0, len(assignment_ids), IDS_PER_QUERY):
        rows = db.session.scalars(
            sa.select(CheckIn).options(selectinload(CheckIn.items), selectinload(CheckIn.keys))
            .where(CheckIn.assignment_id.in_(assignment_ids[start:start + IDS_PER_QUERY]),
                   ~checked_out()))
        found.update({record.assignment_id: record for record in rows})
    return found


def _undoes_carry_over(record: CheckIn, departure: residence.Departure) -> bool:
    """Restoring, this check-in was carried over from the very assignment the student goes back to."""
    carried_from = record.carried_from
    return (departure.returning is not None and carried_from is not None
            and carried_from.assignment_id == departure.returning.id)


def refusal(students: list, *, markup: bool = False) -> str:
    """The refusal naming every student concerned (as links to their check-out at the desk, in ``markup``)."""
    said = _("Checked in, so their bed cannot change here: %(students)s. Check them out (or change their room) "
             "at the check-in desk first, or choose in the check-in settings to check them out automatically.",
             students=(Markup(", ") if markup else ", ").join(students))
    return Markup(said) if markup else said  # the links were escaped as they were made


class CheckInRule(residence.LeavingRule):
    def before(self, departures, *, reason, actor, restoring):
        records = _open_check_ins([d.assignment.id for d in departures])
        if not records:
            return {}
        policy = settings().leaving
        closing, refused = [], []
        for departure in departures:
            record = records.get(departure.assignment.id)
            if record is None:
                continue
            if policy == LeavingPolicy.REFUSE and not (restoring and _undoes_carry_over(record, departure)):
                refused.append(departure)
            else:
                closing.append((departure, record))
        if refused:
            named = {d.assignment.student_id: f"{d.assignment.student.display} ({d.assignment.bed.code})"
                     for d in refused}
            error = residence.MustCheckOut(refusal(list(named.values())), [d.assignment.student for d in refused],
                                           {student_id: refusal([name]) for student_id, name in named.items()})
            if has_request_context():
                error.markup = refusal([
                    Markup('<a href="{}">{} ({})</a>').format(
                        url_for("checkin.room_change" if d.moving else "checkin.check_out",
                                student_id=d.assignment.student_id),
                        d.assignment.student.display, d.assignment.bed.code) for d in refused], markup=True)
            raise error
        actor = actor or audit.current_actor()
        for departure, record in closing:
            _close(record, moving=departure.moving, reason=reason, actor=actor)
        return {departure.assignment.id: record for departure, record in closing}

    def after(self, token, arrivals, *, reason, actor, restoring):
        token = token or {}
        actor = actor or audit.current_actor()
        originals = {}
        if restoring:
            returning = [a.returning.id for a in arrivals if a.returning is not None]
            originals = {record.assignment_id: record for record in db.session.scalars(
                sa.select(CheckIn).join(CheckOut, CheckOut.check_in_id == CheckIn.id)
                .options(selectinload(CheckIn.items))
                .where(CheckIn.assignment_id.in_(returning), CheckOut.automatic.is_(True)))} if returning else {}
        for arrival in arrivals:
            left = token.get(arrival.leaving.id) if arrival.leaving is not None else None
            original = originals.get(arrival.returning.id) if arrival.returning is not None else None
            if left is not None or original is not None:
                _carry_over(arrival.assignment, left=left, original=original, reason=reason, actor=actor)


def _close(record: CheckIn, *, moving: bool, reason: str, actor) -> CheckOut:
    """Check out without the desk: nothing inspected, no charges, keys not handed back stay out."""
    stock = {item.id: item.condition for item in facilities.items_in(record.assignment.bed.room_id)}
    for item in record.items:
        item.check_out_condition = stock.get(item.inventory_item_id, item.condition)
    check_out = CheckOut(checked_out_at=utcnow(), checked_out_by=actor, automatic=True,
                         reason=ROOM_CHANGE_REASON if moving else CHECK_OUT_REASON,
                         note=_("Checked out automatically (%(reason)s); keys not yet handed back stay open.",
                                reason=reason)[:500])
    with conflict_on_duplicate(_("%(student)s was checked out by someone else just now.",
                                 student=record.assignment.student.display)):
        db.session.add(check_out)
        check_out.check_in = record
    out = [k.name for k in record.keys if k.status == KeyStatus.ISSUED]
    audit.record("checkin.check_out", student=record.assignment.student, room=record.assignment.bed.room,
                 actor=actor, bed=record.assignment.bed.code, reason=check_out.reason, automatic=True,
                 keys_out=out)
    return check_out


def _carry_over(assignment: Assignment, *, left: CheckIn | None, original: CheckIn | None, reason: str,
                actor) -> CheckIn:
    """The student is checked in to the new assignment's bed, with the keys they still hold.

    Restoring (``original``: the check-in this change's undoing brings back), the original's report,
    acknowledgement and dates come back too.
    """
    now = utcnow()
    if original is not None:
        record = CheckIn(assignment=assignment, checked_in_at=original.checked_in_at,
                         checked_in_by_id=original.checked_in_by_id, self_service=original.self_service,
                         ack_due_at=original.ack_due_at, acknowledged_at=original.acknowledged_at,
                         note=original.note, carried_from=left or original)
        rows = [{"inventory_item_id": i.inventory_item_id, "kind": i.kind, "asset_label": i.asset_label,
                 "description": i.description, "condition": i.condition, "note": i.note,
                 "disputed_at": i.disputed_at, "dispute_note": i.dispute_note, "resolved_at": i.resolved_at,
                 "resolution": i.resolution} for i in original.items]
    else:
        record = CheckIn(assignment=assignment, checked_in_at=now, checked_in_by=actor, self_service=False,
                         ack_due_at=now + timedelta(hours=ack_hours()), carried_from=left,
                         note=_("Carried over from bed %(bed)s (%(reason)s).", bed=left.assignment.bed.code,
                                reason=reason)[:500])
        rows = report_rows(facilities.items_in(assignment.bed.room_id))
    with conflict_on_duplicate(_("%(student)s was checked in by someone else just now.",
                                 student=assignment.student.display)):
        db.session.add(record)
    if rows:
        db.session.execute(sa.insert(ReportItem), [{"check_in_id": record.id, **row} for row in rows])
    holders = [r.id for r in (left, original) if r is not None]
    db.session.execute(sa.update(KeyIssue).where(KeyIssue.check_in_id.in_(holders),
                                                 KeyIssue.status == KeyStatus.ISSUED)
                       .values(check_in_id=record.id))
    for holder in (left, original, record):
        if holder is not None:
            db.session.expire(holder, ["items", "keys"])
    audit.record("checkin.carry_over", student=assignment.student, room=assignment.bed.room, actor=actor,
                 bed=assignment.bed.code, reason=reason, restored=original is not None)
    return record


def settle_keys(record: CheckIn, answers: dict, *, actor=None) -> list[KeyIssue]:
    """The desk records keys an automatic check-out left open: returned, or missing (maybe charged)."""
    if record.check_out is None:
        raise ServiceError(_("%(student)s has not checked out; take keys back at check-out or a room change.",
                             student=record.assignment.student.display))
    open_keys = {key.id: key for key in record.keys if key.status == KeyStatus.ISSUED}
    if not answers:
        raise ServiceError(_("Say for at least one key whether it was returned or is missing."))
    now = utcnow()
    settled = []
    for key_id, answer in answers.items():
        key = open_keys.get(key_id)
        if key is None:
            raise ServiceError(_("Key %(key)d is not open on this check-in.", key=key_id))
        if answer.returned and answer.charge_cents:
            raise ServiceError(_("%(key)s: a returned key cannot carry a charge.", key=key.name))
        key.status = KeyStatus.RETURNED if answer.returned else KeyStatus.MISSING
        key.settled_at, key.charge_cents = now, None if answer.returned else answer.charge_cents
        settled.append(key)
    db.session.flush()
    audit.record("checkin.keys_settled", student=record.assignment.student, room=record.assignment.bed.room,
                 actor=actor, returned=[k.name for k in settled if k.status == KeyStatus.RETURNED],
                 missing=[k.name for k in settled if k.status == KeyStatus.MISSING])
    return settled


def install() -> None:
    residence.install_leaving_rule(CheckInRule())

