"""The dashboard: occupancy for staff, their students and last night's curfew for counselors."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from ..access import reports
from ..access.labels import SEVERITY, STATUS_LABELS, STATUS_STYLES
from ..residence import occupancy, residents
from ..students.scopes import visible_students_clause
from . import waiting
from .occupancy_chart import many_buildings, occupancy_chart
from .setup import progress

bp = Blueprint("dashboard", __name__)


def _last_night(scope, scope_key) -> dict:
    """What a counselor checks first each morning: last night's statuses and the alerts."""
    night = reports.last_finished_night()
    overview = reports.kept_night_overview(night, scope, scope_key)
    return {"night": night, "totals": overview.totals, "alerts": overview.alerts, "has_curfew": overview.has_curfew}


@bp.get("/")
@login_required
def index():
    if current_user.is_student:
        return redirect(url_for("students.me"))
    # The narrower roles start where their work is (core.roles; README, "Roles").
    if current_user.is_building_manager:
        return redirect(url_for("campus.buildings"))
    if current_user.is_inspector:
        return redirect(url_for("hygiene.rounds"))
    if current_user.is_repair_worker:
        return redirect(url_for("facilities.repairs_index"))
    if current_user.is_counselor:
        curfew = _last_night(visible_students_clause(current_user), ("user", current_user.id))
        return render_template("pages/dashboard/counselor.html", summary=residents.counselor_summary(current_user),
                               curfew=curfew, waiting=waiting.for_counselor(current_user, len(curfew["alerts"])),
                               labels=STATUS_LABELS, styles=STATUS_STYLES, statuses=SEVERITY)
    rows = occupancy.occupancy_by_building()
    # A large campus is added up per gender, in the chart and the table alike: 80 buildings' rows would make
    # the home page a long list (the buildings page has each building's occupancy).
    by_gender = many_buildings(rows)
    shown = occupancy.occupancy_by_gender(rows) if by_gender else rows
    return render_template(
        "pages/dashboard/staff.html",
        rows=shown,
        by_gender=by_gender,
        buildings=len({row.building.id for row in rows}),
        totals=occupancy.occupancy_totals(rows),
        chart=Markup(occupancy_chart(shown)) if rows else None,
        setup=progress(),
        waiting=waiting.for_staff(current_user),
    )
