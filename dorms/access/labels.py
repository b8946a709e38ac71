"""How curfew statuses read and look (the status words of docs/curfew.md stay in exports and APIs)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .curfew import Status

STATUS_LABELS = {
    Status.IN: _l("In"),
    Status.LATE: _l("Late"),
    Status.EXCUSED_LATE: _l("Late, excused"),
    Status.ABSENT_LEFT: _l("Absent: went out"),
    Status.ABSENT_LEFT_AFTER_CURFEW: _l("Absent: went out after curfew"),
    Status.ABSENT_NO_EVENTS: _l("Absent: no card events"),
    Status.EXCUSED: _l("Away, excused"),
    Status.RETURNED_DESPITE_LEAVE: _l("Back despite leave"),
    Status.NO_DATA: _l("No door data"),
}
# A building's door data on a night (reports.feed_health): the export's door_data column, in the reader's words.
FEED_LABELS = {"ok": _l("As usual"), "low": _l("Low door data"), "no_data": _l("No door data")}
DIRECTION_LABELS = {"in": _l("In"), "out": _l("Out"), "unknown": _l("Not said")}
# The push protocol a ZKTeco device speaks (zkteco/push.py), as the Integrations page names it.
PROTOCOL_LABELS = {"attendance": _l("Attendance push"), "security": _l("Security PUSH (access panel)")}
# Bootstrap colours: what needs the counselor's attention stands out.
STATUS_STYLES = {
    Status.IN: "success", Status.LATE: "warning", Status.EXCUSED_LATE: "info",
    Status.ABSENT_LEFT: "danger", Status.ABSENT_LEFT_AFTER_CURFEW: "danger", Status.ABSENT_NO_EVENTS: "danger",
    Status.EXCUSED: "secondary", Status.RETURNED_DESPITE_LEAVE: "info", Status.NO_DATA: "light",
}
CHART_COLOURS = {
    Status.IN: "#198754", Status.LATE: "#ffc107", Status.EXCUSED_LATE: "#0dcaf0", Status.ABSENT_LEFT: "#dc3545",
    Status.ABSENT_LEFT_AFTER_CURFEW: "#b02a37", Status.ABSENT_NO_EVENTS: "#6f1d1b", Status.EXCUSED: "#adb5bd",
    Status.RETURNED_DESPITE_LEAVE: "#6ea8fe", Status.NO_DATA: "#e9ecef",
}
# Worst first: the order of the report's table. Nights without door data last: nothing to act on per student.
SEVERITY = [Status.ABSENT_NO_EVENTS, Status.ABSENT_LEFT_AFTER_CURFEW, Status.ABSENT_LEFT, Status.LATE,
            Status.RETURNED_DESPITE_LEAVE, Status.EXCUSED_LATE, Status.EXCUSED, Status.IN, Status.NO_DATA]
