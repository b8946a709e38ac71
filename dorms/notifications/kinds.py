"""Every event that notifies: its texts (rendered in the reader's language), who receives it, its defaults.

Texts are lazy gettext with %(name)s parameters; the caller of :func:`notify` gives the values. A value
that must itself be translated (a status, a reason) is given as a lazy string: its message id is stored
and translated when the message is rendered.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ..core.enums import Role

STUDENT, COUNSELOR, STAFF = frozenset({Role.STUDENT}), frozenset({Role.COUNSELOR}), frozenset({Role.STAFF})


@dataclass(frozen=True)
class Kind:
    name: str
    # What it is about, on the preferences page.
    label: object
    title: object
    body: object
    # Who receives it: the preferences page offers each person the kinds of their role.
    roles: frozenset
    # The channels it takes besides the app until its recipient chooses otherwise.
    defaults: tuple[str, ...] = ("email",)
    # The page the notification opens (an endpoint without arguments), if any.
    endpoint: str | None = None
    # Also told once to the staff group's robot (settings), when one is configured.
    staff_group: bool = False


KINDS = {kind.name: kind for kind in (
    Kind("swap_requested", _l("Someone asks to swap beds with you"),
         _l("Swap request from %(student)s"),
         _l("%(student)s asks to swap beds with you (you would move to %(room)s). Answer on your room change page."),
         STUDENT, endpoint="roomchange.mine"),
    Kind("swap_answered", _l("The answer to your swap request"),
         _l("%(student)s answered your swap request: %(answer)s"),
         _l("%(answer)s"), STUDENT, endpoint="roomchange.mine"),
    Kind("round_outcome", _l("The outcome of your room change request"),
         _l("Your room change request #%(request)s: %(status)s"), _l("%(reason)s"),
         STUDENT, endpoint="roomchange.mine"),
    Kind("permission_requested", _l("A student asks for late-return or overnight permission"),
         _l("%(student)s asks for permission: %(kind)s"),
         _l("%(kind)s, %(nights)s, asked by %(student)s (%(class_name)s): %(reason)s"),
         COUNSELOR, defaults=("email", "robot"), endpoint="curfew.review"),
    Kind("permission_decided", _l("The decision on your late-return or overnight request"),
         _l("Your request (%(kind)s, %(nights)s) is %(status)s"), _l("%(comment)s"),
         STUDENT, endpoint="curfew.my_requests"),
    Kind("curfew_alert", _l("Morning curfew alerts about your students"),
         _l("Curfew alerts for the night of %(night)s"),
         _l("Absent: %(absent)s. Late: %(late)s."), COUNSELOR, defaults=("email", "robot"), endpoint="curfew.night"),
    Kind("repair_step", _l("Your repair ticket moves on"),
         _l("Repair ticket #%(ticket)s is %(status)s"), _l("%(room)s: %(description)s %(note)s"),
         STUDENT, endpoint="facilities.my_repairs"),
    Kind("violation_notified", _l("A violation record names you"),
         _l("Violation #%(violation)s: %(type)s"),
         _l("You are named in a violation record (%(type)s, %(date)s). You may appeal it while it is notified."),
         STUDENT, endpoint="violations.index"),
    Kind("violation_decided", _l("A violation record naming you is decided"),
         _l("Violation #%(violation)s is %(status)s"), _l("%(type)s, %(date)s. %(note)s"),
         STUDENT, endpoint="violations.index"),
    Kind("violation_appealed", _l("A student appeals a violation"),
         _l("Violation #%(violation)s appealed by %(student)s"), _l("%(reason)s"),
         STAFF, endpoint="violations.index", staff_group=True),
    Kind("checkin_report_waiting", _l("A room condition report waits for your acknowledgement"),
         _l("Acknowledge the condition report of %(bed)s"),
         _l("Check the room condition report of %(bed)s and acknowledge it, or dispute an item, by %(deadline)s."),
         STUDENT, endpoint="checkin.mine"),
    Kind("checkin_report_due", _l("A room condition report's deadline is near"),
         _l("The condition report of %(bed)s is due"),
         _l("Acknowledge the room condition report of %(bed)s or dispute an item by %(deadline)s: after that "
            "it counts as acknowledged."), STUDENT, endpoint="checkin.mine"),
    Kind("selection_window_soon", _l("Your selection day window is near"),
         _l("Choose your bed from %(time)s"),
         _l("%(event)s: your window opens at %(time)s. Sign in then to choose your bed."), STUDENT),
    Kind("selection_confirmed", _l("The bed you chose on selection day"),
         _l("Your bed: %(bed)s"), _l("%(event)s: you chose bed %(bed)s. Keep this message as your record."),
         STUDENT),
    Kind("directory_sync_held", _l("A directory sync is held by the deactivation guard"),
         _l("Directory sync #%(run)s is held"),
         _l("It would make %(inactive)s of %(active)s active students inactive, more than the allowed %(share)s. "
            "Nothing was changed. Check the directory settings; if they are right, run it again with --force."),
         STAFF, endpoint="directory.index", staff_group=True),
    Kind("directory_sync_failed", _l("A directory sync failed"),
         _l("Directory sync #%(run)s failed"), _l("%(error)s"),
         STAFF, endpoint="directory.index", staff_group=True),
)}


CHANNEL_LABELS = {"email": _l("Email"), "robot": _l("Own group robot"), "staff_robot": _l("Staff group robot")}


def kinds_for(role: Role) -> list[Kind]:
    return [kind for kind in KINDS.values() if role in kind.roles]
