from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from ..campus import services as campus
from ..students import services as students
from .charts import occupancy_chart

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@login_required
def index():
    if current_user.is_student:
        return redirect(url_for("students.me"))
    if current_user.is_counselor:
        return render_template("dashboard/counselor.html", summary=students.counselor_summary(current_user))
    rows = campus.occupancy_by_building()
    return render_template(
        "dashboard/staff.html",
        rows=rows,
        totals=campus.occupancy_totals(rows),
        chart=Markup(occupancy_chart(rows)) if rows else None,
    )
