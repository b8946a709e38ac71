from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.access import roles_required, visible_student_or_404
from ..campus import services as campus
from ..checkin import services as checkin
from ..core.enums import RequestKind, Role, StudentStatus
from ..core.forms import known_choice, options, page_number, submit
from ..hygiene import reports as hygiene_reports
from ..residence import services as residence
from ..roomchange import services as room_changes
from ..violations import services as violations
from . import requests as roommate_requests
from . import services
from .forms import (
    BuildingPreferenceForm,
    LifestyleForm,
    RoommateRequestForm,
    StudentSearchForm,
)

bp = Blueprint("students", __name__, url_prefix="/students")


@bp.get("/")
@roles_required(Role.STAFF, Role.COUNSELOR)
def index():
    form = StudentSearchForm(request.args, meta={"csrf": False})
    form.class_name.choices = options([("", "—")] + [(c, c) for c in services.class_names(current_user)])
    page = page_number(request.args)
    filters = services.StudentFilters(
        text=form.q.data, class_name=form.class_name.data or None,
        status=known_choice(form.status), housed=known_choice(form.housed),
    )
    rows, total = services.search_students(current_user, filters, page=page)
    return render_template("students/index.html", form=form, rows=rows, total=total, page=page, per_page=50,
                           check_ins=checkin.by_assignment([row.assignment.id for row in rows if row.assignment]))


@bp.get("/me")
@login_required
def me():
    if not current_user.is_student:
        abort(404)
    return redirect(url_for("students.detail", student_id=current_user.student_id))


@bp.get("/<int:student_id>")
@login_required
def detail(student_id: int):
    student = visible_student_or_404(student_id)
    current = residence.current_assignment(student)
    # Roommate wishes are between the student and the housing office; counselors do not see them.
    own_requests = current_user.is_staff or current_user.student_id == student.id
    return render_template(
        "students/detail.html",
        student=student,
        current=current,
        roommates=services.roommates(current),
        history=residence.history(student),
        counselors=services.counselors_of(student),
        can_manage=current_user.is_staff,
        active=student.status == StudentStatus.ACTIVE,
        requests=roommate_requests.requests_of(student) if own_requests else None,
        mutual=roommate_requests.mutual_ids(student) if own_requests else set(),
        request_form=RoommateRequestForm(),
        lifestyle_form=LifestyleForm(lifestyle=student.lifestyle.value if student.lifestyle else ""),
        preferences=roommate_requests.preferred_buildings(student) if own_requests else [],
        preference_form=_preference_form(student) if own_requests else None,
        change_requests=room_changes.requests_of(student) if current_user.is_staff else None,
        is_self=current_user.student_id == student.id,
        checkin_record=checkin.latest_check_in(student),
        violations=violations.of_student(current_user, student),
        hygiene=hygiene_reports.room_summary(current.bed.room) if current else None,
    )


def _preference_form(student) -> BuildingPreferenceForm:
    ranked = [p.building_id for p in roommate_requests.preferred_buildings(student)] + [0, 0, 0]
    return BuildingPreferenceForm(first=ranked[0], second=ranked[1], third=ranked[2]).with_buildings(
        campus.buildings())


def _editable_student_or_404(student_id: int):
    """The student themself or staff may change their requests; anyone else is refused."""
    if current_user.is_counselor:
        abort(403)
    student = visible_student_or_404(student_id)
    return student


@bp.post("/<int:student_id>/requests")
@login_required
def add_request(student_id: int):
    student = _editable_student_or_404(student_id)
    form = RoommateRequestForm()
    if form.validate():
        submit(None, lambda: roommate_requests.add_request(student, form.other_number.data.strip(),
                                                           RequestKind(form.kind.data),
                                                           discreet=not current_user.is_staff),
               _("Request saved."))
    else:
        flash(_("Give a student number."), "danger")
    return redirect(url_for("students.detail", student_id=student.id))


@bp.post("/<int:student_id>/requests/<int:request_id>/delete")
@login_required
def remove_request(student_id: int, request_id: int):
    student = _editable_student_or_404(student_id)
    submit(None, lambda: roommate_requests.remove_request(student, request_id), "")  # the page shows it gone
    return redirect(url_for("students.detail", student_id=student.id))


@bp.post("/<int:student_id>/lifestyle")
@login_required
def set_lifestyle(student_id: int):
    student = _editable_student_or_404(student_id)
    form = LifestyleForm()
    if form.validate():
        submit(None, lambda: roommate_requests.set_lifestyle(student, form.lifestyle.data or None))
    return redirect(url_for("students.detail", student_id=student.id))


@bp.post("/<int:student_id>/buildings")
@login_required
def set_buildings(student_id: int):
    student = _editable_student_or_404(student_id)
    form = BuildingPreferenceForm().with_buildings(campus.buildings())
    if form.validate():
        submit(None, lambda: roommate_requests.set_preferred_buildings(student, form.ranked()))
    return redirect(url_for("students.detail", student_id=student.id))
