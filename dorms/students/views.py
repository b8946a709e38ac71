"""A student's own wishes (roommates, lifestyle, buildings); the student list and page are in pages/students.py."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..campus import services as campus
from ..core.enums import RequestKind
from ..core.forms import refuse, submit
from . import roommate_requests
from .forms import BuildingPreferenceForm, LifestyleForm, RoommateRequestForm
from .scopes import visible_student_or_404

bp = Blueprint("students", __name__, url_prefix="/students")


@bp.get("/me")
@login_required
def me():
    if not current_user.is_student:
        abort(404)
    return redirect(url_for("students.detail", student_id=current_user.student_id))


def _editable_student_or_404(student_id: int):
    """The student themself or staff may change their requests; other roles are refused, other students
    find no such student (404, as everywhere a student looks past their own record)."""
    if not (current_user.is_staff or current_user.is_student):
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
        refuse(_("Give a student number."))
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
    form = BuildingPreferenceForm().with_buildings(campus.building_names())
    if form.validate():
        submit(None, lambda: roommate_requests.set_preferred_buildings(student, form.ranked()))
    return redirect(url_for("students.detail", student_id=student.id))
