"""Sending notifications as a job, which the scheduler runs every minute."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .. import jobs
from .sending import send_due


@jobs.task("notifications.send", label=_l("Sending notifications"), stoppable=False,
           idle_fields=("sent", "failed", "given_up"))
def send(context: jobs.Context) -> dict:
    """Send every delivery due. It commits after each one (a message sent stays recorded as sent whatever
    happens to the next), so a run that fails midway keeps what it sent."""
    report = send_due()
    context.log(str(report))
    return {"sent": report.sent, "failed": report.failed, "given_up": report.given_up, "deferred": report.deferred,
            "skipped": report.skipped}
