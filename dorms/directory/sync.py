"""Syncing students and counselors from the campus directory.

A run reads everything it needs from the directory first and only then writes, in one transaction:
a directory that fails halfway (server gone, bind refused, timeout, a cut-short answer) leaves the
database as it was, and the run says why. Nobody is deleted: students gone from the directory (a
full sync) or marked graduated / withdrawn become inactive and keep their history and their bed
until staff act; the run lists such residents. Running the same data twice changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import audit
from ..access.cards import hand_over
from ..auth.models import User
from ..campus.models import Bed, Building, Room
from ..core.clock import utcnow
from ..core.database import analyze_bulk_writes, note_bulk_write
from ..core.enums import Role, StudentStatus
from ..core.errors import ServiceError
from ..extensions import db
from ..notifications import notify, staff_accounts
from ..residence.models import select_current_beds
from ..students import roommate_requests
from ..students.models import CounselorScope, Student
from . import client
from .mapping import DirectoryStudent, MapError, Skipped
from .models import DirectoryRun, SyncKind, SyncStatus
from .settings import DirectoryNotConfigured, DirectorySettings

# How many changes and residents a run keeps for its report (the counts are always complete).
REPORT_ROWS = 1000
# The student columns a sync may write, in a fixed order for comparisons.
SYNCED = ("student_number", "name", "gender", "college", "major", "class_name", "grade", "status", "phone")


@dataclass
class Plan:
    """What a run would change, computed before anything is written."""

    create: list[dict] = field(default_factory=list)
    update: list[dict] = field(default_factory=list)  # {"id": ..., changed fields...}
    deactivate: list[int] = field(default_factory=list)  # student ids gone from the directory (full sync)
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    newly_inactive: int = 0  # active students this run makes inactive (left, graduated, withdrawn)
    high_water_mark: str | None = None
    cards: dict[str, list[str]] = field(default_factory=dict)  # student number -> the directory's cards
    pins: dict[str, list[str]] = field(default_factory=dict)  # student number -> the directory's door PINs


def create_run(kind: SyncKind, *, dry_run: bool = False, force: bool = False, actor=None) -> DirectoryRun:
    if db.session.scalar(sa.select(sa.func.count()).select_from(DirectoryRun).where(
            DirectoryRun.status.in_([SyncStatus.QUEUED, SyncStatus.RUNNING]))):
        raise ServiceError(_("A directory sync is already running; wait for it to finish."))
    run = DirectoryRun(kind=kind, dry_run=dry_run, forced=force, started_by=actor or audit.current_actor())
    db.session.add(run)
    db.session.flush()
    return run


def execute_run(run: DirectoryRun, settings: DirectorySettings) -> DirectoryRun:
    """Do the run; commits its outcome. Never raises for a directory problem: the run records it."""
    run.status, run.started_at = SyncStatus.RUNNING, utcnow()
    db.session.commit()
    run_id = run.id
    try:
        kind = run.kind
        mark = None if kind == SyncKind.FULL else last_high_water_mark()
        if mark is None:
            kind = SyncKind.FULL  # nothing to continue from
        entries = _read_students(settings, mark)
        counselors = _read_counselors(settings)
        plan = plan_students(settings, entries, full=kind == SyncKind.FULL)
        run = db.session.get(DirectoryRun, run_id)
        run.kind = kind
        _record_plan(run, plan, len(entries))
        active = db.session.scalar(sa.select(sa.func.count()).select_from(Student).where(
            Student.status == StudentStatus.ACTIVE))
        if kind == SyncKind.FULL and plan.newly_inactive > settings.max_deactivate_share * max(active, 1) \
                and not run.forced:
            run.status = SyncStatus.HELD
            run.error = (f"This sync would make {plan.newly_inactive} of {active} active students inactive, more "
                         f"than the allowed {settings.max_deactivate_share:.0%}. Nothing was changed. Check the "
                         f"directory settings (base DN, filter); if it is right, run again with --force.")
            if not run.dry_run:
                notify(staff_accounts(), "directory_sync_held", run=run.id, inactive=plan.newly_inactive,
                       active=active, share=f"{settings.max_deactivate_share:.0%}")
        else:
            run.counselors = _sync_counselors(counselors, settings, write=not run.dry_run)
            if not run.dry_run:
                _apply(plan)
                run.cards = _sync_cards(plan.cards, plan.pins)
                run.high_water_mark = plan.high_water_mark or mark
                audit.record("directory.sync", run=run.id, kind=kind.value, created=run.created,
                             updated=run.updated, deactivated=run.deactivated, skipped=run.skipped,
                             actor=run.started_by)
            run.status = SyncStatus.SUCCEEDED
        run.inactive_residents = inactive_residents()
        run.finished_at = utcnow()
        if run.dry_run:
            # Nothing a dry run computed may land; only its report does.
            report = {c: getattr(run, c) for c in ("kind", "status", "entries", "created", "updated", "deactivated",
                                                   "unchanged", "skipped", "counselors", "cards", "skipped_entries",
                                                   "changes", "inactive_residents", "finished_at", "error")}
            db.session.rollback()
            run = db.session.get(DirectoryRun, run_id)
            for name, value in report.items():
                setattr(run, name, value)
        db.session.commit()
    except Exception as error:  # the run must say why, whatever broke; the data stays as it was
        db.session.rollback()
        run = db.session.get(DirectoryRun, run_id)
        run.status, run.finished_at = SyncStatus.FAILED, utcnow()
        run.error = str(error) if isinstance(error, client.DirectoryError) else f"{type(error).__name__}: {error}"
        notify(staff_accounts(), "directory_sync_failed", run=run.id, error=run.error)
        db.session.commit()
        if not isinstance(error, client.DirectoryError):
            raise
    analyze_bulk_writes()  # a full sync writes thousands of students: the planner must know of them
    return run


def execute_configured(run: DirectoryRun) -> DirectoryRun:
    """execute_run with the app's directory settings; unusable settings fail the run (committed) instead."""
    try:
        settings = DirectorySettings.from_config()
    except (DirectoryNotConfigured, MapError) as error:
        run.status, run.finished_at = SyncStatus.FAILED, utcnow()
        run.error = f"the directory is not configured: set {error}" if isinstance(error, DirectoryNotConfigured) \
            else f"the attribute map is unusable: {error}"
        db.session.commit()
        return run
    return execute_run(run, settings)


def last_high_water_mark() -> str | None:
    return db.session.scalar(
        sa.select(DirectoryRun.high_water_mark)
        .where(DirectoryRun.status == SyncStatus.SUCCEEDED, DirectoryRun.dry_run.is_(False),
               DirectoryRun.high_water_mark.is_not(None))
        .order_by(DirectoryRun.id.desc()).limit(1))


def _read_students(settings: DirectorySettings, mark: str | None) -> list[client.Entry]:
    search_filter = settings.filter
    if mark:
        # modifyTimestamp has one-second resolution: >= re-reads that second's entries, and the
        # upserts make reading them twice harmless.
        search_filter = f"(&{_wrapped(settings.filter)}(modifyTimestamp>={mark}))"
    connection = client.connect(settings)
    try:
        return list(client.paged_search(connection, settings.base_dn, search_filter,
                                        settings.attributes.attributes(), settings.page_size))
    finally:
        connection.unbind()


def _wrapped(search_filter: str) -> str:
    search_filter = search_filter.strip()
    return search_filter if search_filter.startswith("(") else f"({search_filter})"


def plan_students(settings: DirectorySettings, entries: list[client.Entry], *, full: bool) -> Plan:
    plan = Plan()
    attribute_map = settings.attributes
    records: dict[str, DirectoryStudent] = {}
    duplicates: dict[str, list[str]] = {}
    for entry in entries:
        stamp = (entry.attributes.get("modifytimestamp") or [None])[0]
        if stamp and (plan.high_water_mark is None or stamp > plan.high_water_mark):
            plan.high_water_mark = stamp
        if entry.undecodable:
            plan.skipped.append(Skipped(entry.dn, None, "not_utf8", {"attributes": ", ".join(entry.undecodable)}))
            continue
        record = attribute_map.read(entry.dn, entry.attributes)
        if isinstance(record, Skipped):
            plan.skipped.append(record)
        elif record.key in records or record.key in duplicates:
            duplicates.setdefault(record.key, [records.pop(record.key).dn] if record.key in records else [])
            duplicates[record.key].append(record.dn)
        else:
            records[record.key] = record
    for key, dns in duplicates.items():
        # Two entries claim one student: neither wins, the record stays as it was.
        plan.skipped += [Skipped(dn, key, "duplicate_key", {"count": len(dns), "key": key}) for dn in dns]
    _skip_shared_numbers(records, plan)

    existing = db.session.execute(sa.select(Student.id, Student.directory_id, *(getattr(Student, c) for c in SYNCED)))
    by_number, by_directory_id = {}, {}
    for row in existing:
        by_number[row.student_number] = row
        if row.directory_id:
            by_directory_id[row.directory_id] = row
    keyed_on_number = attribute_map.key == "student_number"
    seen: set[int] = set()
    for record in records.values():
        if record.cards is not None:
            plan.cards[record.student_number] = record.cards
        if record.pins is not None:
            plan.pins[record.student_number] = record.pins
        row = by_number.get(record.key) if keyed_on_number else (
            by_directory_id.get(record.key) or _unlinked(by_number.get(record.student_number)))
        if row is None:
            if record.student_number in by_number:
                plan.skipped.append(Skipped(record.dn, record.key, "number_taken", {"number": record.student_number}))
                continue
            values = {"student_number": record.student_number, **record.fields,
                      "directory_id": record.directory_id}
            plan.create.append(values)
            _note(plan, record.student_number, "create", sorted(record.fields))
            continue
        seen.add(row.id)
        changed = {name: value for name, value in record.fields.items() if getattr(row, name) != value}
        if row.status != StudentStatus.ACTIVE and "status" not in record.fields and row.status == StudentStatus.LEFT:
            changed["status"] = StudentStatus.ACTIVE  # back in the directory
        if record.directory_id and row.directory_id != record.directory_id:
            changed["directory_id"] = record.directory_id
        if "student_number" in changed and changed["student_number"] in by_number:
            plan.skipped.append(Skipped(record.dn, record.key, "number_taken", {"number": record.student_number}))
            continue
        if not changed:
            plan.unchanged += 1
            continue
        if changed.get("status", StudentStatus.ACTIVE) != StudentStatus.ACTIVE and row.status == StudentStatus.ACTIVE:
            plan.newly_inactive += 1
        plan.update.append({"id": row.id, **changed})
        _note(plan, record.student_number, "update", sorted(changed))
    if full:
        skipped_keys = {s.key for s in plan.skipped if s.key}
        for row in by_number.values():
            # A skipped entry is still in the directory: its student has not left.
            key = row.student_number if keyed_on_number else row.directory_id
            if row.id in seen or key in skipped_keys or row.status == StudentStatus.LEFT:
                continue
            if not keyed_on_number and row.directory_id is None:
                continue  # never came from the directory: not ours to retire
            plan.deactivate.append(row.id)
            if row.status == StudentStatus.ACTIVE:
                plan.newly_inactive += 1
            _note(plan, row.student_number, "deactivate", ["status"])
    return plan


def _unlinked(row):
    """A record found by student number that no directory entry has claimed yet (linked on first sync)."""
    return row if row is not None and row.directory_id is None else None


def _skip_shared_numbers(records: dict[str, DirectoryStudent], plan: Plan) -> None:
    """Keyed on a directory id, two entries may still carry one student number: skip both."""
    holders: dict[str, list[str]] = {}
    for key, record in records.items():
        holders.setdefault(record.student_number, []).append(key)
    for number, keys in holders.items():
        if len(keys) > 1:
            for key in keys:
                record = records.pop(key)
                plan.skipped.append(Skipped(record.dn, key, "duplicate_number", {"number": number}))


def _note(plan: Plan, number: str, action: str, fields: list[str]) -> None:
    if len(plan.changes) < REPORT_ROWS:
        plan.changes.append({"student_number": number, "action": action, "fields": fields})


def _record_plan(run: DirectoryRun, plan: Plan, entries: int) -> None:
    run.entries = entries
    run.created, run.updated, run.deactivated = len(plan.create), len(plan.update), len(plan.deactivate)
    run.unchanged, run.skipped = plan.unchanged, len(plan.skipped)
    run.skipped_entries = [s.as_dict() for s in plan.skipped[:REPORT_ROWS]]
    run.changes = plan.changes


def _apply(plan: Plan) -> None:
    now = utcnow()
    if plan.create:
        db.session.execute(sa.insert(Student), [{**values, "created_at": now, "updated_at": now}
                                                for values in plan.create])
        roommate_requests.link_waiting_requests()
    if plan.update:
        db.session.execute(sa.update(Student), [{**values, "updated_at": now} for values in plan.update])
    if plan.deactivate:
        db.session.execute(sa.update(Student), [{"id": i, "status": StudentStatus.LEFT, "updated_at": now}
                                                for i in plan.deactivate])
    note_bulk_write(Student.__tablename__, len(plan.create) + len(plan.update) + len(plan.deactivate))
    db.session.flush()


def _sync_cards(cards: dict[str, list[str]], pins: dict[str, list[str]]) -> int:
    """The directory's cards and PINs: new ones are added, ones it now gives someone else move to them (a card
    the directory no longer lists stays: an old card keeps working for a while). Returns how many changed."""
    if not cards and not pins:
        return 0
    ids = dict(db.session.execute(sa.select(Student.student_number, Student.id)).all())
    pin_holders = {pin: ids[number] for number, listed in pins.items() for pin in listed}
    handed = hand_over({**pin_holders, **{card: ids[number] for number, listed in cards.items() for card in listed}},
                       pins=set(pin_holders))
    return handed.created + handed.handed_on


def inactive_residents() -> list[dict]:
    """Students who are not active but still hold a bed: staff decide when they check out."""
    rows = db.session.execute(
        select_current_beds(Student.student_number, Student.name, Student.status, Building.code, Room.number,
                            Bed.label)
        .where(Student.status != StudentStatus.ACTIVE)
        .order_by(Student.student_number).limit(REPORT_ROWS))
    return [{"student_number": r.student_number, "name": r.name, "status": r.status.value,
             "bed": f"{r.code}-{r.number}-{r.label}"} for r in rows]


# --- counselors -------------------------------------------------------------------------


@dataclass
class DirectoryCounselor:
    username: str
    name: str
    classes: list[str]
    colleges: list[str]


def _read_counselors(settings: DirectorySettings) -> list[DirectoryCounselor] | None:
    """The counselor group's members with the classes and colleges they look after (None: not configured)."""
    if not settings.counselor_group:
        return None
    attribute_map = settings.attributes.counselors
    connection = client.connect(settings)
    try:
        group = client.find_one(connection, settings.counselor_group, "(objectClass=*)", ["member", "uniqueMember"])
        if group is None:
            raise client.DirectoryError(f"the counselor group {settings.counselor_group} does not exist")
        members = group.attributes.get("member", []) + group.attributes.get("uniquemember", [])
        counselors = []
        for dn in filter(None, members):  # groupOfNames needs a member: an empty group lists the empty DN
            try:
                entry = client.find_one(connection, dn, "(objectClass=*)", settings.attributes.counselor_attributes())
            except client.NoSuchEntry:
                continue  # a member whose entry is gone is no counselor
            if entry is None:
                continue
            values = {name: [v for a in attrs for v in entry.attributes.get(a.lower(), [])]
                      for name, attrs in attribute_map.items()}
            username = (values.get("username") or [""])[0].strip().lower()
            if username:
                counselors.append(DirectoryCounselor(username, (values.get("name") or [username])[0],
                                                     sorted(set(values.get("classes", []))),
                                                     sorted(set(values.get("colleges", [])))))
        return counselors
    finally:
        connection.unbind()


def _sync_counselors(counselors: list[DirectoryCounselor] | None, settings, *, write: bool) -> int:
    """Counselor accounts follow the directory group: created, rescoped, or closed. Returns how many changed."""
    if counselors is None:
        return 0
    users = {u.username: u for u in db.session.scalars(sa.select(User).where(User.role == Role.COUNSELOR))}
    changed = 0
    for counselor in counselors:
        user = users.pop(counselor.username, None)
        if user is None:
            if db.session.scalar(sa.select(User.id).where(User.username == counselor.username)):
                continue  # a local or staff account has this name: not ours to take over
            user = User(username=counselor.username, role=Role.COUNSELOR, auth_source="ldap",
                        display_name=counselor.name)
            db.session.add(user)
        elif user.auth_source != "ldap":
            continue  # a local counselor account keeps its own scopes
        wanted = {("class", c) for c in counselor.classes} | {("college", c) for c in counselor.colleges}
        have = {("class", s.class_name) if s.class_name else ("college", s.college) for s in user.scopes}
        if user.id is not None and wanted == have and user.active and user.display_name == counselor.name:
            continue
        changed += 1
        user.active, user.display_name = True, counselor.name
        if wanted != have:
            user.scopes = [CounselorScope(class_name=c) for c in counselor.classes] + \
                          [CounselorScope(college=c) for c in counselor.colleges]
    for user in users.values():  # left the group
        if user.auth_source == "ldap" and (user.active or user.scopes):
            changed += 1
            user.active, user.scopes = False, []
    if write:
        db.session.flush()
    return changed
