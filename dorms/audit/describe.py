"""Audit entries as sentences in the reader's language."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from ..core.enums import Gender, RequestKind, Role, RoomStatus
from .models import AuditEntry

ACTIONS = {
    "assignment.assign": _l("Assigned a bed"),
    "assignment.move": _l("Moved"),
    "assignment.vacate": _l("Vacated a bed"),
    "room.status": _l("Room status changed"),
    "import.rooms": _l("Imported rooms"),
    "import.students": _l("Imported students"),
    "demo.seed": _l("Seeded the demo campus"),
    "user.create": _l("Created an account"),
    "request.add": _l("Added a roommate request"),
    "request.remove": _l("Removed a roommate request"),
    "request.buildings": _l("Ranked preferred buildings"),
    "allocation.create": _l("Started an allocation run"),
    "allocation.cancel": _l("Cancelled an allocation run"),
    "allocation.apply": _l("Applied an allocation run"),
    "allocation.rollback": _l("Rolled back an allocation run"),
    "roomchange.ask": _l("Asked for a room change"),
    "roomchange.answer": _l("Answered a swap request"),
    "roomchange.withdraw": _l("Withdrew a room change request"),
    "user.link": _l("Linked an account to the campus directory"),
    "user.password": _l("Changed their password"),
    "directory.sync": _l("Synced from the campus directory"),
    "job.cancel": _l("Cancelled a job"),
    "job.retry": _l("Tried a job again"),
    "job.schedule": _l("Changed a job schedule"),
    "access.token.create": _l("Created an API token"),
    "access.token.revoke": _l("Revoked an API token"),
    "access.permission.request": _l("Asked for late-return or overnight permission"),
    "access.permission.decide": _l("Decided a late-return or overnight request"),
    "access.permission.withdraw": _l("Withdrew a late-return or overnight request"),
    "access.history.view": _l("Viewed a student's curfew record"),
    "access.purge": _l("Purged old door events"),
    "access.device.register": _l("Registered a door device"),
    "curfew.rule.set": _l("Set a curfew"),
    "curfew.rule.delete": _l("Deleted a curfew rule"),
    "curfew.holiday.add": _l("Added a night without curfew"),
    "curfew.holiday.remove": _l("Removed a night without curfew"),
    "term.add": _l("Added a term"),
    "inventory.add": _l("Added an item to a room's inventory"),
    "inventory.condition": _l("Changed an item's condition"),
    "checkin.check_in": _l("Checked in"),
    "checkin.keys": _l("Handed out keys"),
    "checkin.acknowledge": _l("Acknowledged a room condition report"),
    "checkin.dispute": _l("Disputed an item of a room condition report"),
    "checkin.resolve": _l("Answered a dispute about a room condition report"),
    "checkin.check_out": _l("Checked out"),
    "checkin.carry_over": _l("Carried a check-in over to a new bed"),
    "checkin.settings": _l("Changed the check-in settings"),
    "checkin.keys_settled": _l("Recorded keys left open at check-out"),
    "hygiene.round.create": _l("Created a hygiene inspection round"),
    "hygiene.round.status": _l("Closed or reopened a hygiene inspection round"),
    "hygiene.round.inspectors": _l("Changed the inspectors of a hygiene inspection round"),
    "hygiene.score": _l("Scored a floor's hygiene"),
    "hygiene.checklist": _l("Changed the hygiene checklist"),
    "hygiene.bands": _l("Changed the hygiene bands"),
    "violation.record": _l("Recorded a violation"),
    "violation.status": _l("Moved a violation along its workflow"),
    "violation.comment": _l("Commented on a violation"),
    "violation.type.add": _l("Added a violation type"),
    "violation.type.update": _l("Changed a violation type"),
    "violation.type.retire": _l("Retired a violation type"),
    "violation.type.restore": _l("Brought back a violation type"),
    "violation.type.delete": _l("Deleted a violation type"),
    "repair.report": _l("Reported a fault"),
    "repair.step": _l("Moved a repair ticket along"),
    "user.account.create": _l("Created an account"),
    "user.account.deactivate": _l("Deactivated an account"),
    "user.account.activate": _l("Reactivated an account"),
    "user.account.password_reset": _l("Reset an account's password"),
    "user.account.role": _l("Changed an account's role"),
    "user.account.bulk_create": _l("Created student accounts"),
    "selection.create": _l("Created a selection event"),
    "selection.window": _l("Added a selection window"),
    "selection.participants": _l("Added students to a selection"),
    "selection.area": _l("Gave a college an area in a selection"),
    "selection.area_remove": _l("Removed a college's area from a selection"),
    "selection.names": _l("Changed whether a selection shows who chose a room by name"),
    "selection.offer": _l("Offered beds in a selection"),
    "selection.withdraw": _l("Withdrew offered beds from a selection"),
    "selection.open": _l("Opened a selection"),
    "selection.pause": _l("Paused a selection"),
    "selection.resume": _l("Resumed a selection"),
    "selection.close": _l("Closed a selection"),
    "selection.apply": _l("Applied a selection's choices"),
    "selection.rehearse": _l("Made a selection rehearsal"),
    "selection.discard": _l("Threw a selection rehearsal away"),
    "selection.place_the_rest": _l("Started placing who did not choose in a selection"),
}


def _role_label(value) -> str:
    return str(Role(value).label) if value in Role._value2member_map_ else str(value)


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))


def describe(entry: AuditEntry) -> str:
    d = entry.details or {}
    student = entry.student.display if entry.student else ""
    match entry.action:
        case "assignment.assign":
            return _("%(student)s into bed %(bed)s", student=student, bed=d.get("bed"))
        case "assignment.move":
            return _("%(student)s from %(old)s to %(new)s", student=student, old=d.get("from_bed"), new=d.get("bed"))
        case "assignment.vacate":
            return _("%(student)s left bed %(bed)s", student=student, bed=d.get("bed"))
        case "room.status":
            return _("%(room)s: %(old)s → %(new)s", room=d.get("room_code"),
                     old=_value(entry.action, "old", d.get("old")), new=_value(entry.action, "new", d.get("new")))
        case "user.create":
            return _("%(username)s (%(role)s) %(scopes)s", username=d.get("username"),
                     role=Role(d["role"]).label if d.get("role") in Role._value2member_map_ else d.get("role"),
                     scopes=", ".join((d.get("classes") or []) + (d.get("colleges") or [])))
        case "user.account.create" | "user.account.deactivate" | "user.account.activate" \
                | "user.account.password_reset":
            return _("%(username)s (%(role)s) %(scopes)s", username=d.get("username"),
                     role=_role_label(d.get("role", "")), scopes=", ".join(d.get("buildings") or []))
        case "user.account.role":
            return _("%(username)s: %(old)s → %(new)s", username=d.get("username"), old=_role_label(d.get("old")),
                     new=_role_label(d.get("new")))
        case "user.account.bulk_create":
            return ngettext("%(num)d student account", "%(num)d student accounts", d.get("count") or 0)
        case "import.rooms" | "import.students":
            return _("%(file)s: %(created)s created, %(updated)s updated, %(unchanged)s unchanged",
                     file=d.get("file"), created=d.get("created"), updated=d.get("updated"),
                     unchanged=d.get("unchanged"))
        case "allocation.apply" | "allocation.rollback":
            return ngettext("run #%(run)s: %(num)d student changed bed", "run #%(run)s: %(num)d students changed bed",
                            int(d.get("moves") or 0), run=d.get("run"))
        case "allocation.create" | "allocation.cancel" | "directory.sync" if "run" in d:
            rest = {k: v for k, v in d.items() if k != "run"}
            return _("run #%(run)s", run=d["run"]) + (_("; ") + _details(entry.action, rest) if rest else "")
    return _details(entry.action, d)


# Names of the details audit.record keeps, as the reader reads them.
DETAIL_LABELS = {
    "accepted": _l("accepted"), "after_the_fact": _l("after the fact"), "asker": _l("asked by"),
    "asset_label": _l("asset label"), "assignee": _l("assigned to"), "attempt": _l("attempt"), "automatic": _l("automatic"), "bed": _l("bed"),
    "beds": _l("beds"), "before": _l("before"), "building": _l("building"), "buildings": _l("buildings"),
    "change_requests": _l("room change requests"), "charged": _l("charged"), "check_ins": _l("check-ins"),
    "classes": _l("classes"), "code": _l("code"), "colleges": _l("colleges"), "comment": _l("comment"),
    "condition": _l("condition"), "count": _l("number"), "created": _l("created"), "curfew": _l("curfew"),
    "damages": _l("damages"), "date": _l("date"), "deactivated": _l("deactivated"), "description": _l("description"),
    "disputed": _l("disputed"), "door": _l("door"), "enabled": _l("on"), "every_minutes": _l("every (minutes)"), "door_events": _l("door events"), "night_statuses": _l("nights rolled up"), "ends_on": _l("ends on"),
    "events": _l("events"), "excellent_min": _l("excellent from"), "file": _l("file"),
    "first_night": _l("first night"), "floor": _l("floor"), "from_bed": _l("from bed"), "gender": _l("gender"),
    "hygiene_inspections": _l("hygiene inspections"), "inspectors": _l("inspectors"),
    "inventory_items": _l("inventory items"), "item": _l("item"), "items": _l("items"), "job": _l("job"),
    "keys": _l("keys"),
    "keys_out": _l("keys not returned"), "kind": _l("kind"), "last_night": _l("last night"),
    "leaving": _l("a checked-in student leaving"), "missing": _l("missing"), "missing_keys": _l("missing keys"),
    "mode": _l("kind"), "moves": _l("moves"), "name": _l("name"), "new": _l("now"), "night": _l("night"),
    "nights": _l("nights"), "note": _l("note"), "occurred_on": _l("date"), "old": _l("before"),
    "old_name": _l("old name"), "old_severity": _l("old severity"), "other": _l("other student"),
    "partner": _l("other student"), "pass_min": _l("pass from"), "password": _l("password"),
    "permission": _l("request"), "photos": _l("photos"), "placed": _l("placed"),
    "repair_tickets": _l("repair tickets"), "request": _l("request"), "restored": _l("restored"),
    "returned": _l("returned"), "role": _l("role"), "room_code": _l("room"), "rooms": _l("rooms"),
    "round": _l("round"), "rule": _l("rule"), "run": _l("run"), "schedule": _l("schedule"), "scope": _l("scope"),
    "seed": _l("seed"),
    "self_service": _l("by the student"), "serial_number": _l("serial number"), "severity": _l("severity"),
    "skipped": _l("skipped"), "source": _l("source"), "starts_on": _l("starts on"), "status": _l("status"),
    "students": _l("students"), "ticket": _l("ticket"), "time_of_day": _l("daily at"), "token_id": _l("token"), "type": _l("type"),
    "unchanged": _l("unchanged"), "updated": _l("updated"), "username": _l("username"), "usernames": _l("usernames"),
    "violation": _l("violation"), "violations": _l("violations"), "weekend": _l("weekend"),
    # selection day (selection.services)
    "event": _l("selection event"), "closes_at": _l("closes at"), "starts_at": _l("starts at"),
    "hold_seconds": _l("hold (seconds)"), "change_limit": _l("changes allowed"), "tier": _l("tier"),
    "college": _l("college"), "grade": _l("year of entry"), "batch_size": _l("students per batch"),
    "batch_minutes": _l("minutes between batches"), "added": _l("added"), "reserved": _l("reserved"),
    "rehearsal": _l("rehearsal"), "zone": _l("zone"), "roommate_names": _l("names of who chose a room shown"),
}

# {(action, detail): labelled enum}: stored words the packages above name (register_values), read as labels.
_VALUES: dict[tuple[str, str], type] = {}


def register_values(enum, *actions_and_details: tuple[str, str]) -> None:
    """Say that these details of these actions hold values of ``enum`` (a LabelledEnum): shown by label."""
    for key in actions_and_details:
        _VALUES[key] = enum


def _value(action: str, key: str, value) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(_value(action, key, v) if not isinstance(v, list)
                         else f"{v[0]} ({', '.join(map(str, v[1:]))})" if v else "" for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {_value(action, key, v)}" for k, v in value.items())
    enum = _VALUES.get((action, key))
    if enum is not None and value in enum._value2member_map_:
        return enum(value).label
    if key == "role" and value in Role._value2member_map_:
        return Role(value).label
    return str(value)


def _details(action: str, details: dict) -> str:
    """Every detail as "name: value", in the reader's language."""
    return _("; ").join(_("%(name)s: %(value)s", name=DETAIL_LABELS.get(key, key), value=_value(action, key, value))
                        for key, value in details.items())


register_values(RoomStatus, ("room.status", "old"), ("room.status", "new"))
register_values(Gender, ("curfew.rule.set", "gender"), ("selection.window", "gender"))
register_values(RequestKind, ("request.add", "kind"), ("request.remove", "kind"))
