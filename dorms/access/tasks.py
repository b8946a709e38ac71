"""Door-data housekeeping as jobs, for the schedules: the morning curfew rollup and the nightly purge."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .. import jobs
from .reports import curfew_alerts, last_finished_night
from .retention import purge
from .rollup import recent_nights, rollup


@jobs.task("access.rollup", label=_l("Curfew rollup"), idle_fields=("statuses",))
def rollup_recent(context: jobs.Context) -> dict:
    """Keep the statuses of finished nights that have none yet (as `dorms access rollup`)."""
    nights = recent_nights()
    written = rollup(nights, only_missing=True)
    context.log(f"{len(nights)} nights looked at, {written} statuses kept")
    return {"nights": len(nights), "statuses": written}


@jobs.task("access.purge", label=_l("Purge of old door events"), idle_fields=("events_deleted", "statuses"))
def purge_old_events(context: jobs.Context, days: int | None = None) -> dict:
    """Delete raw door events past retention, keeping their nights' statuses (as `dorms access purge --yes`)."""
    report = purge(days)
    context.log(f"events before {report.before:%Y-%m-%d %H:%M} UTC: {report.events_deleted} deleted; "
                f"{report.nights_rolled_up} nights ({report.statuses_kept} statuses) kept")
    return {"events_deleted": report.events_deleted, "nights": report.nights_rolled_up,
            "statuses": report.statuses_kept}


@jobs.task("access.curfew_alerts", label=_l("Morning curfew alerts to counselors"), idle_fields=("counselors",))
def morning_alerts(context: jobs.Context) -> dict:
    """Tell each counselor the alerts of the night just over (scheduled after the rollup)."""
    night = last_finished_night()
    told = curfew_alerts(night)
    context.log(f"night {night}: {told} counselors told")
    return {"night": night.isoformat(), "counselors": told}
