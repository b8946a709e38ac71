from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..auth.access import roles_required, visible_student_or_404
from ..core.enums import Role, StudentStatus
from ..core.forms import known_choice, options, page_number
from ..residence import services as residence
from . import services
from .forms import StudentSearchForm

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
    return render_template("students/index.html", form=form, rows=rows, total=total, page=page, per_page=50)


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
    return render_template(
        "students/detail.html",
        student=student,
        current=current,
        roommates=services.roommates(current),
        history=residence.history(student),
        counselors=services.counselors_of(student),
        can_manage=current_user.is_staff,
        active=student.status == StudentStatus.ACTIVE,
    )
