"""Check-in housekeeping as jobs, for the schedules: reminders of reports waiting for acknowledgement."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from .. import jobs
from .services import remind_reports_due


@jobs.task("checkin.report_reminders", label=_l("Reminders of check-in reports due"), takes_slot=True,
           idle_fields=("reminded",))
def report_reminders(context: jobs.Context, slot: str | None = None, every_minutes: int = 60) -> dict:
    """Remind students whose report falls due a day after the slot: each report falls in one slot, so it is
    reminded once, however the schedule's interval is set."""
    reminded = remind_reports_due(datetime.fromisoformat(slot) if slot else None,
                                  every=timedelta(minutes=every_minutes))
    context.log(f"{reminded} students reminded")
    return {"reminded": reminded}
