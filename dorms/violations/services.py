"""Violations: the type catalogue, recording, the workflow, comments, and who may see what.

Services change the session and flush; the view commits once. A refusal is a
ServiceError with a message naming the student, the record or the field.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from .. import audit
from ..audit.models import AuditEntry
from ..campus.codes import find_room
from ..campus.models import Building, Room
from ..core.clock import campus_today
from ..core.database import conflict_if_changed_meanwhile
from ..core.enums import Role
from ..core.errors import ServiceError
from ..core.forms import MAX_ID
from ..extensions import db
from ..notifications import accounts_of, notify, staff_accounts
from ..photos import store_photos
from ..residence.services import current_assignment
from ..students.models import Student
from ..core.roles import sees_everything
from ..students.scopes import visible_students_clause
from .models import (
    Severity,
    Violation,
    ViolationComment,
    ViolationEvent,
    ViolationStatus,
    ViolationType,
    violation_students,
)

S = ViolationStatus
# The workflow: which status may follow which. Appealing is the named student's move, the rest staff's.
TRANSITIONS: dict[ViolationStatus, set[ViolationStatus]] = {
    S.RECORDED: {S.NOTIFIED},
    S.NOTIFIED: {S.RESOLVED, S.APPEALED},
    S.APPEALED: {S.UPHELD, S.DISMISSED},
}
STAFF_MOVES = {S.NOTIFIED, S.RESOLVED, S.UPHELD, S.DISMISSED}
# A dismissed record was found void on appeal: it is listed but never counted.
COUNTED = Violation.status != S.DISMISSED
MAX_STUDENTS = 20
# The usual catalogue (违规电器, 吸烟, 留宿外人, 晚归, 损坏公物, 噪音扰民, 私拉电线, 饲养宠物), seeded in the install's language.
DEFAULT_TYPES = [(_l("Banned electrical appliances"), Severity.SERIOUS), (_l("Smoking"), Severity.SERIOUS),
                 (_l("Overnight guests"), Severity.GRAVE), (_l("Late return"), Severity.MINOR),
                 (_l("Damaging public property"), Severity.SERIOUS), (_l("Noise disturbing others"), Severity.MINOR),
                 (_l("Unauthorised wiring"), Severity.GRAVE), (_l("Keeping pets"), Severity.MINOR)]


# --- the catalogue -----------------------------------------------------------------------------------------


def types(*, active_only: bool = False) -> list[ViolationType]:
    query = sa.select(ViolationType).order_by(ViolationType.active.desc(), ViolationType.name)
    if active_only:
        query = query.where(ViolationType.active.is_(True))
    return list(db.session.scalars(query))


def default_types(locale: str | None = None) -> list[tuple[str, Severity]]:
    """The usual catalogue's names and severities in ``locale`` (by default the install's language)."""
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        return [(str(name), severity) for name, severity in DEFAULT_TYPES]


def ensure_default_types(locale: str | None = None) -> int:
    """Add the usual catalogue when there never was one; returns how many types were added.

    Seeded as plain text in the install's language, which the office then edits as its own. Seeded only
    while no type exists and the audit log shows none was ever added or deleted: a catalogue the office
    emptied on purpose stays empty, and nothing it renamed, retired or added is touched."""
    if db.session.scalar(sa.select(ViolationType.id).limit(1)) is not None:
        return 0
    if db.session.scalar(sa.select(AuditEntry.id).where(AuditEntry.action.like("violation.type.%")).limit(1)):
        return 0
    for name, severity in default_types(locale):
        add_type(name, severity)
    return len(DEFAULT_TYPES)


def usage_counts() -> dict[int, int]:
    """How many records use each type."""
    return dict(db.session.execute(sa.select(Violation.type_id, sa.func.count()).group_by(Violation.type_id)).all())


def _clean_name(name: str, *, other_than: ViolationType | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("Give the violation type a name."))
    if len(name) > 100:
        raise ServiceError(_("A violation type's name is at most 100 characters."))
    query = sa.select(ViolationType.id).where(sa.func.lower(ViolationType.name) == name.lower())
    if other_than is not None:
        query = query.where(ViolationType.id != other_than.id)
    if db.session.scalar(query):
        raise ServiceError(_("There is already a violation type named %(name)s.", name=name))
    return name


def add_type(name: str, severity: Severity, *, actor=None) -> ViolationType:
    vtype = ViolationType(name=_clean_name(name), severity=severity, active=True)
    db.session.add(vtype)
    db.session.flush()
    audit.record("violation.type.add", actor=actor, type=vtype.id, name=vtype.name, severity=severity.value)
    return vtype


def update_type(vtype: ViolationType, name: str, severity: Severity, *, actor=None) -> None:
    """Rename or change severity; records keep pointing at the type, so they show the new name."""
    new_name = _clean_name(name, other_than=vtype)
    if new_name == vtype.name and severity == vtype.severity:
        raise ServiceError(_("Nothing changed for %(name)s.", name=vtype.name))
    audit.record("violation.type.update", actor=actor, type=vtype.id, old_name=vtype.name, name=new_name,
                 old_severity=vtype.severity.value, severity=severity.value)
    vtype.name, vtype.severity = new_name, severity
    db.session.flush()


def set_type_active(vtype: ViolationType, active: bool, *, actor=None) -> None:
    if vtype.active == active:
        raise ServiceError(_("%(name)s is already in use.", name=vtype.name) if active
                           else _("%(name)s is already retired.", name=vtype.name))
    vtype.active = active
    audit.record("violation.type.restore" if active else "violation.type.retire", actor=actor, type=vtype.id,
                 name=vtype.name)
    db.session.flush()


def remove_type(vtype: ViolationType, *, actor=None) -> bool:
    """Delete an unused type; a type records use is retired instead (they keep it). True when deleted."""
    used = db.session.scalar(sa.select(sa.func.count()).where(Violation.type_id == vtype.id))
    if used:
        if vtype.active:
            set_type_active(vtype, False, actor=actor)
        return False
    audit.record("violation.type.delete", actor=actor, type=vtype.id, name=vtype.name)
    db.session.delete(vtype)
    db.session.flush()
    return True


# --- recording ---------------------------------------------------------------------------------------------


def _named_students(numbers: list[str]) -> list[Student]:
    numbers = list(dict.fromkeys(n.strip() for n in numbers if n.strip()))
    if len(numbers) > MAX_STUDENTS:
        raise ServiceError(_("Name at most %(count)d students in one record.", count=MAX_STUDENTS))
    found = {s.student_number: s for s in db.session.scalars(
        sa.select(Student).where(Student.student_number.in_(numbers)))} if numbers else {}
    for number in numbers:
        if number not in found:
            raise ServiceError(_("There is no student with number %(number)s.", number=number))
    return [found[n] for n in numbers]


def record(*, type_id: int | None, student_numbers: list[str], room_code: str, occurred_on: date | None,
           description: str, files=(), actor=None) -> Violation:
    """A new record naming residents and/or a room, with its evidence photos; it starts as recorded."""
    vtype = db.session.get(ViolationType, type_id) if type_id and 0 < type_id <= MAX_ID else None
    if vtype is None:
        raise ServiceError(_("Choose a violation type."))
    if not vtype.active:
        raise ServiceError(_("%(name)s is retired; choose a type in use.", name=vtype.name))
    students = _named_students(student_numbers)
    room = None
    if (room_code or "").strip():
        room = find_room(room_code)
        if room is None:
            raise ServiceError(_("There is no room %(code)s (write it as building-number, e.g. A1-203).",
                                 code=room_code.strip()))
    if not students and room is None:
        raise ServiceError(_("Name at least one student or a room."))
    if occurred_on is None:
        raise ServiceError(_("Give the date it happened."))
    if occurred_on > campus_today():
        raise ServiceError(_("%(date)s is in the future; give the date it happened.", date=occurred_on.isoformat()))
    homes = {}
    for student in students:
        assignment = current_assignment(student)
        if assignment is None:
            raise ServiceError(_("%(student)s is not a resident (no current bed).", student=student.display))
        homes[student.id] = assignment.bed.room
    description = (description or "").strip()
    if len(description) > 2000:
        raise ServiceError(_("The description is at most 2000 characters."))
    photos = store_photos(files, actor=actor)  # refuses a non-image or too large a file, naming it
    where = room or homes[students[0].id]
    violation = Violation(type=vtype, room=room, building_id=where.building_id, occurred_on=occurred_on,
                          description=description, status=S.RECORDED, recorded_by_id=actor.id if actor else None)
    violation.students.extend(students)
    violation.photos.extend(photos)
    violation.events.append(ViolationEvent(status=S.RECORDED, actor_id=actor.id if actor else None))
    db.session.add(violation)
    db.session.flush()
    audit.record("violation.record", actor=actor, student=students[0] if students else None, room=room,
                 violation=violation.id, type=vtype.name, severity=vtype.severity.value,
                 students=[s.student_number for s in students], occurred_on=occurred_on.isoformat(),
                 photos=len(photos))
    return violation


# --- the workflow ------------------------------------------------------------------------------------------


def _refuse_transition(violation: Violation, to: ViolationStatus):
    allowed = sorted(TRANSITIONS.get(violation.status, ()), key=list(S).index)
    if allowed:
        return ServiceError(_("Violation #%(id)d is %(status)s: it can go on to %(allowed)s, not %(to)s.",
                              id=violation.id, status=violation.status.label.lower(),
                              allowed=", ".join(s.label.lower() for s in allowed), to=to.label.lower()))
    return ServiceError(_("Violation #%(id)d is %(status)s: its workflow is over.",
                          id=violation.id, status=violation.status.label.lower()))


def _step(violation: Violation, to: ViolationStatus, *, note: str = "", actor=None) -> None:
    """Move the record to ``to``, keeping the step; only from the version this request read."""
    with conflict_if_changed_meanwhile(
            _("Violation #%(id)d was changed by someone else meanwhile; reload the page and try again.",
              id=violation.id)):
        audit.record("violation.status", actor=actor, room=violation.room, violation=violation.id,
                     student=violation.students[0] if violation.students else None,
                     old=violation.status.value, new=to.value, note=note[:500])
        violation.status = to
        violation.events.append(ViolationEvent(status=to, note=note, actor_id=actor.id if actor else None))


def move(violation: Violation, to: ViolationStatus, *, note: str = "", actor=None) -> None:
    """Staff move a record along its workflow: notify, resolve, uphold or dismiss an appeal."""
    if actor is not None and actor.role != Role.STAFF:
        raise ServiceError(_("Only the housing office moves a violation along its workflow."))
    if to == S.APPEALED:
        raise ServiceError(_("Only a student named in violation #%(id)d can appeal it.", id=violation.id))
    if to not in STAFF_MOVES or to not in TRANSITIONS.get(violation.status, ()):
        raise _refuse_transition(violation, to)
    note = (note or "").strip()
    if len(note) > 2000:
        raise ServiceError(_("The note is at most 2000 characters."))
    if to in (S.UPHELD, S.DISMISSED) and not note:
        raise ServiceError(_("Say why the appeal on violation #%(id)d is decided so.", id=violation.id))
    _step(violation, to, note=note, actor=actor)
    named = dict(violation=violation.id, type=violation.type.name, date=violation.occurred_on.isoformat())
    if to == S.NOTIFIED:
        notify(accounts_of(violation.students), "violation_notified", **named)
    else:
        notify(accounts_of(violation.students), "violation_decided", status=to.lazy_label, note=note, **named)


def appeal(violation: Violation, student: Student | None, reason: str, *, actor=None) -> None:
    """The named student appeals, once, while the record is notified."""
    if student is None or student not in violation.students:
        raise ServiceError(_("Only a student named in violation #%(id)d can appeal it.", id=violation.id))
    if violation.appeal_reason is not None:
        raise ServiceError(_("Violation #%(id)d has already been appealed; it can be appealed only once.",
                             id=violation.id))
    if violation.status != S.NOTIFIED:
        raise ServiceError(_("Violation #%(id)d is %(status)s; it can be appealed only while it is notified.",
                             id=violation.id, status=violation.status.label.lower()))
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Give a reason for your appeal."))
    if len(reason) > 2000:
        raise ServiceError(_("The reason is at most 2000 characters."))
    violation.appeal_reason, violation.appellant_id = reason, student.id
    _step(violation, S.APPEALED, note=reason, actor=actor)
    notify(staff_accounts(), "violation_appealed", violation=violation.id, student=student.display, reason=reason)


def comment(violation: Violation, body: str, *, actor) -> ViolationComment:
    """Counselors comment on their own students' records (staff may too)."""
    if actor.role == Role.STUDENT:
        raise ServiceError(_("Students cannot comment on violations."))
    if actor.role == Role.COUNSELOR and not _names_a_student_of(violation, actor):
        raise ServiceError(_("Violation #%(id)d names none of your students; you cannot comment on it.",
                             id=violation.id))
    body = (body or "").strip()
    if not body:
        raise ServiceError(_("Write a comment."))
    if len(body) > 2000:
        raise ServiceError(_("A comment is at most 2000 characters."))
    note = ViolationComment(violation=violation, author_id=actor.id, body=body)
    db.session.add(note)
    db.session.flush()
    audit.record("violation.comment", actor=actor, violation=violation.id, comment=note.id)
    return note


# --- who sees what -----------------------------------------------------------------------------------------


def _names_a_student_of(violation: Violation, user) -> bool:
    return bool(db.session.scalar(sa.select(sa.func.count()).select_from(Violation).where(
        Violation.id == violation.id, visible_clause(user))))


def visible_clause(user) -> sa.ColumnElement[bool]:
    """Staff and auditors see every record; counselors those naming one of their students; students those
    naming them."""
    if sees_everything(user):
        return sa.true()
    if user.role not in (Role.COUNSELOR, Role.STUDENT):
        return sa.false()
    named = (sa.select(violation_students.c.violation_id)
             .join(Student, Student.id == violation_students.c.student_id)
             .where(visible_students_clause(user)))
    return Violation.id.in_(named)


def can_see(user, violation: Violation) -> bool:
    return sees_everything(user) or _names_a_student_of(violation, user)


def students_with_pages(user, students: list[Student]) -> set[int]:
    """Which of the named ``students`` ``user`` may open (and see the number and class of): a counselor only
    their own students, the others named with them by name only; a student sees names only. One query."""
    if user.role == Role.STUDENT or not students:
        return set()
    if sees_everything(user):
        return {s.id for s in students}
    return set(db.session.scalars(sa.select(Student.id).where(Student.id.in_(sorted({s.id for s in students})),
                                                              visible_students_clause(user))))


def load(violation_id: int) -> Violation | None:
    return db.session.scalar(sa.select(Violation).where(Violation.id == violation_id).options(
        joinedload(Violation.type), joinedload(Violation.room).joinedload(Room.building),
        joinedload(Violation.building), joinedload(Violation.recorded_by), joinedload(Violation.appellant),
        selectinload(Violation.students), selectinload(Violation.photos),
        selectinload(Violation.events).joinedload(ViolationEvent.actor),
        selectinload(Violation.comments).joinedload(ViolationComment.author)))


@dataclass
class Filters:
    status: str | None = None
    type_id: int | None = None
    severity: str | None = None
    building_id: int | None = None
    text: str | None = None  # a student number or name
    first: date | None = None
    last: date | None = None


def _filtered(user, filters: Filters):
    query = sa.select(Violation).where(visible_clause(user))
    if filters.status:
        query = query.where(Violation.status == S(filters.status))
    if filters.type_id:
        query = query.where(Violation.type_id == filters.type_id)
    if filters.severity:
        query = query.where(Violation.type_id.in_(
            sa.select(ViolationType.id).where(ViolationType.severity == Severity(filters.severity))))
    if filters.building_id:
        query = query.where(Violation.building_id == filters.building_id)
    if filters.first:
        query = query.where(Violation.occurred_on >= filters.first)
    if filters.last:
        query = query.where(Violation.occurred_on <= filters.last)
    if filters.text and filters.text.strip():
        text = filters.text.strip()
        like = f"%{text.replace('%', '').replace('_', '')}%"
        matching = (sa.select(violation_students.c.violation_id)
                    .join(Student, Student.id == violation_students.c.student_id)
                    .where(sa.or_(Student.student_number == text, Student.name.like(like))))
        query = query.where(Violation.id.in_(matching))
    return query


def _list_options():
    return (joinedload(Violation.type), joinedload(Violation.room).joinedload(Room.building),
            joinedload(Violation.building), selectinload(Violation.students))


def search(user, filters: Filters, *, page: int = 1, per_page: int = 50) -> tuple[list[Violation], int]:
    query = _filtered(user, filters)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.options(*_list_options())
                              .order_by(Violation.occurred_on.desc(), Violation.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).unique()
    return list(rows), total


EXPORT_COLUMNS = ["id", "occurred_on", "type", "severity", "status", "students", "classes", "room", "building",
                  "description", "recorded_by", "recorded_at"]


def export_rows(user, filters: Filters, *, limit: int = 50_000) -> list[list]:
    """Every matching record, newest first, one row each in EXPORT_COLUMNS' order. As on a record's page,
    students ``user`` may not see are given by name only (no number, no class)."""
    violations = list(db.session.scalars(
        _filtered(user, filters).options(*_list_options(), joinedload(Violation.recorded_by))
        .order_by(Violation.occurred_on.desc(), Violation.id.desc()).limit(limit)).unique())
    known = students_with_pages(user, [s for v in violations for s in v.students])
    return [[v.id, v.occurred_on.isoformat(), v.type.name, v.type.severity.label, v.status.label,
             "; ".join(s.display if s.id in known else s.name for s in v.students),
             "; ".join(dict.fromkeys(s.class_name for s in v.students if s.class_name and s.id in known)),
             v.room.code if v.room else "", v.building.code, v.description,
             v.recorded_by.username if v.recorded_by else "", v.recorded_at.isoformat(timespec="minutes")]
            for v in violations]


def _small_table_options():
    """What violations/_macros.html small_table shows of each record: its type and students."""
    return joinedload(Violation.type), selectinload(Violation.students)


def of_student(user, student: Student) -> list[Violation]:
    """For the student page: the records naming ``student`` that ``user`` may see, newest first."""
    return list(db.session.scalars(
        sa.select(Violation).where(visible_clause(user), Violation.id.in_(
            sa.select(violation_students.c.violation_id).where(violation_students.c.student_id == student.id)))
        .options(*_small_table_options()).order_by(Violation.occurred_on.desc(), Violation.id.desc())))


def of_room(user, room: Room) -> list[Violation]:
    """For the room page: the records naming ``room`` that ``user`` may see, newest first."""
    return list(db.session.scalars(
        sa.select(Violation).where(visible_clause(user), Violation.room_id == room.id)
        .options(*_small_table_options()).order_by(Violation.occurred_on.desc(), Violation.id.desc())))


def appealable_by(violation: Violation, user) -> bool:
    return (user.role == Role.STUDENT and violation.status == S.NOTIFIED and violation.appeal_reason is None
            and any(s.id == user.student_id for s in violation.students))


def next_steps(violation: Violation) -> list[ViolationStatus]:
    """What staff may move the record to now."""
    return [s for s in S if s in TRANSITIONS.get(violation.status, ()) and s in STAFF_MOVES]


# --- counts ------------------------------------------------------------------------------------------------


@dataclass
class Counts:
    by_student: list[tuple]  # (student id, number, name, class, count)
    by_class: list[tuple]  # (class, count)
    by_building: list[tuple]  # (building code, name, count)
    by_month: list[tuple]  # ("2026-09", count)
    by_month_and_type: dict[str, Counter]  # month → type name → count
    total: int


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def counts(user, first: date, last: date, *, building_id: int | None = None, type_id: int | None = None) -> Counts:
    """Records (dismissed ones left out) that happened from ``first`` to ``last`` and ``user`` may see."""
    counted = (sa.select(Violation.id).where(visible_clause(user), COUNTED, Violation.occurred_on >= first,
                                             Violation.occurred_on <= last))
    if building_id:
        counted = counted.where(Violation.building_id == building_id)
    if type_id:
        counted = counted.where(Violation.type_id == type_id)
    counted = counted.subquery()
    # A counselor counts only their own students, even on a record naming others too.
    per_student = (sa.select(Student.id, Student.student_number, Student.name, Student.class_name,
                             sa.func.count().label("n"))
                   .join(violation_students, violation_students.c.student_id == Student.id)
                   .where(violation_students.c.violation_id.in_(sa.select(counted.c.id)),
                          visible_students_clause(user))
                   .group_by(Student.id, Student.student_number, Student.name, Student.class_name)
                   .order_by(sa.desc("n"), Student.student_number))
    per_class = (sa.select(Student.class_name, sa.func.count(sa.distinct(violation_students.c.violation_id))
                           .label("n"))
                 .join(violation_students, violation_students.c.student_id == Student.id)
                 .where(violation_students.c.violation_id.in_(sa.select(counted.c.id)),
                        visible_students_clause(user))
                 .group_by(Student.class_name).order_by(sa.desc("n"), Student.class_name))
    per_building = (sa.select(Building.code, Building.name, sa.func.count().label("n"))
                    .join(Violation, Violation.building_id == Building.id)
                    .where(Violation.id.in_(sa.select(counted.c.id)))
                    .group_by(Building.code, Building.name).order_by(Building.code))
    by_day = db.session.execute(
        sa.select(Violation.occurred_on, ViolationType.name).join(ViolationType)
        .where(Violation.id.in_(sa.select(counted.c.id)))).all()
    months: dict[str, Counter] = defaultdict(Counter)
    for day, type_name in by_day:
        months[_month(day)][type_name] += 1
    # Every month of the period, so that quiet months show as zero rather than vanish.
    cursor, all_months = date(first.year, first.month, 1), []
    while cursor <= last:
        all_months.append(_month(cursor))
        cursor = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
    by_month_and_type = {m: months.get(m, Counter()) for m in all_months}
    return Counts(by_student=[tuple(r) for r in db.session.execute(per_student)],
                  by_class=[tuple(r) for r in db.session.execute(per_class)],
                  by_building=[tuple(r) for r in db.session.execute(per_building)],
                  by_month=[(m, sum(c.values())) for m, c in by_month_and_type.items()],
                  by_month_and_type=by_month_and_type, total=len(by_day))


def _per_student(counts: Counts) -> tuple[list[str], list[list]]:
    return ["student_number", "name", "class", "violations"], [list(r[1:]) for r in counts.by_student]


def _per_month(counts: Counts) -> tuple[list[str], list[list]]:
    """A column per type as well, as on the chart."""
    names = sorted({name for c in counts.by_month_and_type.values() for name in c})
    return (["month", "violations", *names],
            [[m, sum(c.values()), *[c.get(n, 0) for n in names]] for m, c in counts.by_month_and_type.items()])


COUNT_TABLES = {
    "student": _per_student,
    "class": lambda c: (["class", "violations"], [list(r) for r in c.by_class]),
    "building": lambda c: (["building", "building_name", "violations"], [list(r) for r in c.by_building]),
    "month": _per_month,
}


def count_table(counts: Counts, by: str) -> tuple[list[str], list[list]]:
    """The headers and rows of one of the summary's tables (``by`` a key of COUNT_TABLES), for a download."""
    return COUNT_TABLES[by](counts)
