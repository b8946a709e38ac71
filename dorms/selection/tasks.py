"""Selection day's routine work as jobs, for the schedules: reminders of windows about to open."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from .. import jobs
from .services import remind_windows


@jobs.task("selection.window_reminders", label=_l("Reminders of selection day windows about to open"),
           takes_slot=True, idle_fields=("reminded",))
def window_reminders(context: jobs.Context, slot: str | None = None, every_minutes: int = 5) -> dict:
    """Remind students whose own start is half an hour after the slot: each start falls in one slot, so it is
    reminded once, however the schedule's interval is set."""
    reminded = remind_windows(datetime.fromisoformat(slot) if slot else None,
                              every=timedelta(minutes=every_minutes))
    context.log(f"{reminded} students reminded")
    return {"reminded": reminded}
