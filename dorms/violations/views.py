"""Violation pages: the list and a record (everyone, within what they may see), recording and the workflow
(staff), comments (counselors), appeals (students), counts with a chart, exports, and the type catalogue."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from ..campus import services as campus
from ..core.clock import campus_today
from ..core.enums import Role
from ..core.forms import date_period, error_text, known_choice, options, page_number, row_id, submit, words
from ..core.roles import roles_required, staff_required
from ..core.tables import MIME_TYPES, table_download
from ..extensions import db
from ..photos import photo_response
from . import charts, services
from .forms import (
    AppealForm,
    CommentForm,
    FilterForm,
    StepForm,
    TypeForm,
    ViolationForm,
)
from .models import Severity, Violation, ViolationStatus, ViolationType

bp = Blueprint("violations", __name__, url_prefix="/violations")
PER_PAGE = 50
LONGEST_PERIOD_DAYS = 3 * 366  # of the counts: three school years


def _visible_or_404(violation_id: int) -> Violation:
    """Records the asker may not see are reported as missing."""
    violation = services.load(violation_id)
    if violation is None or not services.can_see(current_user, violation):
        abort(404)
    return violation


# --- the list ----------------------------------------------------------------------------------------------


def _filters() -> tuple[FilterForm, services.Filters]:
    form = FilterForm(request.args, meta={"csrf": False})
    form.type_id.choices = options([(0, _("Any violation type"))] + [(t.id, t.name) for t in services.types()])
    form.building_id.choices = options([(0, _("Any building"))] + [(b.id, b.code) for b in campus.buildings()])
    form.validate()

    def valid(field):  # a hand-edited bad value filters nothing rather than failing the page
        return None if field.errors else field.data

    if form.first.errors or form.last.errors:  # a date out of range: say why it filters nothing
        flash(error_text(form), "warning")

    filters = services.Filters(status=known_choice(form.status), severity=known_choice(form.severity),
                               type_id=valid(form.type_id), building_id=valid(form.building_id),
                               text=form.q.data, first=valid(form.first), last=valid(form.last))
    return form, filters


# Violations are the office's, the counselors' and the named students' business; the narrower roles have none.
violation_readers_required = roles_required(Role.STAFF, Role.COUNSELOR, Role.STUDENT)


@bp.get("/")
@violation_readers_required
def index():
    form, filters = _filters()
    page = page_number(request.args)
    rows, total = services.search(current_user, filters, page=page, per_page=PER_PAGE)
    return render_template(
        "violations/index.html", form=form, rows=rows, total=total, page=page, has_next=page * PER_PAGE < total,
        known=services.students_with_pages(current_user, [s for v in rows for s in v.students]),
        export_args={k: v for k, v in request.args.items() if k not in ("page", "file_format")},
        title=_("Violations"))


@bp.get("/export.<file_format>")
@roles_required(Role.STAFF, Role.COUNSELOR)
def export(file_format: str):
    if file_format not in MIME_TYPES:
        abort(404)
    _form, filters = _filters()
    return table_download(services.EXPORT_COLUMNS, services.export_rows(current_user, filters), file_format,
                          "violations")


# --- recording and one record ------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new():
    """The record form; the student and room pages link here with ?student= or ?room= filled in."""
    form = ViolationForm().with_types(services.types(active_only=True))
    today = campus_today()
    created: list[Violation] = []

    def action():
        created.append(services.record(
            type_id=form.type_id.data, student_numbers=words(form.student_numbers.data),
            room_code=form.room_code.data or "", occurred_on=form.occurred_on.data,
            description=form.description.data or "", files=request.files.getlist("photos"), actor=current_user))

    if request.method == "GET":
        form.occurred_on.data = today
        form.room_code.data = request.args.get("room", "")
        form.student_numbers.data = request.args.get("student", "")
    elif submit(form, action):
        return redirect(url_for(".detail", violation_id=created[0].id))
    return render_template("violations/new.html", form=form, today=today,
                           title=_("Record a violation"))


@bp.get("/<int:violation_id>")
@violation_readers_required
def detail(violation_id: int):
    violation = _visible_or_404(violation_id)
    step_form = StepForm()
    steps = services.next_steps(violation) if current_user.is_staff else []
    step_form.status.choices = options((s.value, s.label) for s in steps)
    return render_template(
        "violations/detail.html", violation=violation, steps=steps, step_form=step_form,
        appeal_form=AppealForm(), comment_form=CommentForm(),
        can_appeal=services.appealable_by(violation, current_user),
        can_comment=current_user.role in (Role.STAFF, Role.COUNSELOR),
        linkable=services.students_with_pages(current_user, violation.students),
        title=_("Violation #%(id)d", id=violation.id))


@bp.post("/<int:violation_id>/status")
@staff_required
def move(violation_id: int):
    violation = _visible_or_404(violation_id)
    form = StepForm()
    submit(form, lambda: services.move(violation, ViolationStatus(form.status.data), note=form.note.data or "",
                                       actor=current_user))
    return redirect(url_for(".detail", violation_id=violation.id))


@bp.post("/<int:violation_id>/appeal")
@roles_required(Role.STUDENT)
def appeal(violation_id: int):
    violation = _visible_or_404(violation_id)
    form = AppealForm()
    submit(form, lambda: services.appeal(violation, current_user.student, form.reason.data, actor=current_user))
    return redirect(url_for(".detail", violation_id=violation.id))


@bp.post("/<int:violation_id>/comments")
@roles_required(Role.STAFF, Role.COUNSELOR)
def comment(violation_id: int):
    violation = _visible_or_404(violation_id)
    form = CommentForm()
    submit(form, lambda: services.comment(violation, form.body.data, actor=current_user))
    return redirect(url_for(".detail", violation_id=violation.id, _anchor="comments"))


@bp.get("/<int:violation_id>/photos/<int:photo_id>")
@violation_readers_required
def photo(violation_id: int, photo_id: int):
    violation = _visible_or_404(violation_id)
    found = next((p for p in violation.photos if p.id == photo_id), None)
    if found is None:
        abort(404)
    return photo_response(found)


# --- counts ------------------------------------------------------------------------------------------------


def _period() -> tuple[date, date]:
    """?first=&last= (campus dates); by default the last six calendar months up to today."""
    return date_period(request.args, _six_months_before, longest_days=LONGEST_PERIOD_DAYS) or abort(400)


def _six_months_before(last: date) -> date:
    """The first day of the sixth calendar month ending with ``last``'s."""
    month = last.month - 5
    return date(last.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def _id_arg(name: str) -> int | None:
    return row_id(request.args.get(name)) or None


@bp.get("/summary")
@roles_required(Role.STAFF, Role.COUNSELOR)
def summary():
    first, last = _period()
    building_id, type_id = _id_arg("building"), _id_arg("type")
    counts = services.counts(current_user, first, last, building_id=building_id, type_id=type_id)
    return render_template(
        "violations/summary.html", counts=counts, first=first, last=last, building_id=building_id,
        type_id=type_id, buildings=campus.buildings(), types=services.types(),
        chart=Markup(charts.per_month_by_type(counts.by_month_and_type)), title=_("Violation counts"))


@bp.get("/counts.<file_format>")
@roles_required(Role.STAFF, Role.COUNSELOR)
def export_counts(file_format: str):
    by = request.args.get("by", "student")
    if file_format not in MIME_TYPES or by not in services.COUNT_TABLES:
        abort(404)
    first, last = _period()
    counts = services.counts(current_user, first, last, building_id=_id_arg("building"), type_id=_id_arg("type"))
    headers, rows = services.count_table(counts, by)
    return table_download(headers, rows, file_format, f"violations-by-{by}-{first}-{last}")


# --- the catalogue -----------------------------------------------------------------------------------------


@bp.get("/types")
@staff_required
def types():
    return render_template("violations/types.html", types=services.types(), used=services.usage_counts(),
                           form=TypeForm(), severities=list(Severity), title=_("Violation types"))


def _type_or_404(type_id: int) -> ViolationType:
    return db.session.get(ViolationType, type_id) or abort(404)


@bp.post("/types")
@staff_required
def add_type():
    form = TypeForm()
    submit(form, lambda: services.add_type(form.name.data, Severity(form.severity.data), actor=current_user))
    return redirect(url_for(".types"))


@bp.post("/types/<int:type_id>")
@staff_required
def update_type(type_id: int):
    vtype = _type_or_404(type_id)
    form = TypeForm()
    submit(form, lambda: services.update_type(vtype, form.name.data, Severity(form.severity.data),
                                              actor=current_user))
    return redirect(url_for(".types"))


@bp.post("/types/<int:type_id>/retire")
@staff_required
def retire_type(type_id: int):
    return _type_action(lambda vtype: services.set_type_active(vtype, False, actor=current_user), type_id)


@bp.post("/types/<int:type_id>/restore")
@staff_required
def restore_type(type_id: int):
    return _type_action(lambda vtype: services.set_type_active(vtype, True, actor=current_user), type_id)


@bp.post("/types/<int:type_id>/delete")
@staff_required
def delete_type(type_id: int):
    vtype = _type_or_404(type_id)
    name = vtype.name
    submit(None, lambda: services.remove_type(vtype, actor=current_user),
           lambda deleted: _("%(name)s was deleted.", name=name) if deleted else
           (_("%(name)s is used by violation records, so it was retired instead of deleted.", name=name), "warning"))
    return redirect(url_for(".types"))


def _type_action(action, type_id: int):
    vtype = _type_or_404(type_id)
    submit(None, lambda: action(vtype))
    return redirect(url_for(".types"))
