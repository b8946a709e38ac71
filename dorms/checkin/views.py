"""Pages of the checkin feature: the desk (staff), a check-in's record, check-out and room change (staff),
the student's own page (self check-in, answering the report), exports."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from ..core.clock import campus_zone
from ..core.enums import Role
from ..core.errors import ServiceError
from ..core.forms import MAX_PAGE, number_arg, page_number, row_id, submit
from ..campus.models import Room
from ..core.roles import building_staff_required, roles_required, staff_required
from ..core.tables import MIME_TYPES, table_download
from ..extensions import db
from ..facilities import services as facilities
from ..facilities.models import Condition
from ..photos import photo_response
from ..residence import services as residence
from ..residence.scopes import can_view_room, visible_buildings_clause
from ..students.models import Student
from ..students.scopes import can_view_student, visible_student_or_404
from . import exports, leaving, services
from .charts import progress_chart
from .forms import (
    DAMAGE_ROWS,
    SPARE_KEY_ROWS,
    AnswerForm,
    CheckInForm,
    CheckOutForm,
    DeskSearchForm,
    DisputeForm,
    KeysForm,
    ResolveForm,
    RoomChangeForm,
    SettingsForm,
    inspection_from,
    key_returns_from,
    item_states_from,
    keys_from,
)
from .models import CheckIn, KeyKind, LeavingPolicy, yuan

bp = Blueprint("checkin", __name__)
PER_PAGE = 25  # the desk's lists
LIST_PER_PAGE = 50  # the office's lists


# A formatter, no query: the includes on the student and room pages use it too (their views pass the data).
bp.add_app_template_global(yuan, "yuan")


def _common():
    return {"key_kinds": KeyKind.choices(), "conditions": Condition.choices()}


def _building_id() -> int | None:
    return row_id(request.args.get("building")) or None


# --- the desk ---------------------------------------------------------------------------------------------------

@bp.get("/checkin/desk")
@building_staff_required
def desk():
    """Staff see every building's desk; a building manager their buildings' (residence.scopes)."""
    form = DeskSearchForm(request.args, meta={"csrf": False})
    query = (form.q.data or "").strip()[:64]
    found = assignment = record = None
    items = []
    within = visible_buildings_clause(current_user, Room.building_id)
    if query:
        found = services.find_student(query)
        if found is not None and not can_view_student(current_user, found):
            found = None  # another building's resident is not found at this desk
        if found is not None:
            assignment = residence.current_assignment(found)
            record = services.check_in_of(assignment)
            if assignment is not None and record is None:
                items = facilities.items_in(assignment.bed.room_id)
    building_id = _building_id()
    page, expected_page = page_number(request.args), number_arg(request.args, "epage", 1, MAX_PAGE)
    today, today_total = services.todays_check_ins(building_id=building_id, page=page, per_page=PER_PAGE,
                                                   within=within)
    waiting, waiting_total = services.expected(building_id=building_id, page=expected_page, per_page=PER_PAGE,
                                               within=within)
    progress = services.progress_by_building(within=within)
    # Drawn on the desk's overview only: drawing it takes longer than the rest of the page, and a clerk
    # working through the queue (every page with ?q=) should not wait for it (bench/checkin.py).
    chart = Markup(progress_chart(progress)) if progress and not query else None
    return render_template(
        "checkin/desk.html", form=form, query=query, found=found, assignment=assignment, record=record,
        items=items, keys=services.suggested_keys(assignment) if assignment is not None else [],
        spare_rows=SPARE_KEY_ROWS, check_in_form=CheckInForm(), progress=progress, chart=chart,
        buildings=[p.building for p in progress], building_id=building_id,
        today=today, today_total=today_total, page=page, waiting=waiting, waiting_total=waiting_total,
        expected_page=expected_page, per_page=PER_PAGE, title=_("Check-in desk"), **_common())


@bp.route("/checkin/settings", methods=["GET", "POST"])
@staff_required
def settings():
    current = leaving.settings()
    form = SettingsForm(data={"leaving": current.leaving.value})
    if request.method == "POST" and submit(form, lambda: leaving.set_leaving_policy(
            LeavingPolicy(form.leaving.data), actor=current_user)):
        return redirect(url_for("checkin.settings"))
    return render_template("checkin/settings.html", form=form, settings=current, title=_("Check-in settings"))


@bp.post("/checkin/students/<int:student_id>/check-in")
@building_staff_required
def check_in(student_id: int):
    student = visible_student_or_404(student_id)
    form = CheckInForm()
    names = {item.id: item.kind.label for item in _items_of(student)}
    submit(form, lambda: services.check_in(
        student, keys=keys_from(request.form), items=item_states_from(request.form, names),
        note=form.note.data or "", photos=request.files.getlist("photos"), actor=current_user),
        _("%(student)s is checked in.", student=student.display))
    return redirect(url_for("checkin.desk", q=student.student_number))


def _items_of(student: Student):
    assignment = residence.current_assignment(student)
    return facilities.items_in(assignment.bed.room_id) if assignment is not None else []


# --- one check-in's record --------------------------------------------------------------------------------------

def _visible_check_in_or_404(check_in_id: int) -> CheckIn:
    """Out-of-scope students' records are reported missing, as their student pages are."""
    record = services.load_check_in(check_in_id)
    if record is None or not can_view_student(current_user, record.assignment.student):
        abort(404)
    # A building manager sees a resident's check-ins in their own buildings, not those from before elsewhere.
    if current_user.is_building_manager and not can_view_room(current_user, record.assignment.bed.room_id):
        abort(404)
    return record


@bp.get("/checkin/<int:check_in_id>")
@login_required
def record(check_in_id: int):
    found = _visible_check_in_or_404(check_in_id)
    return render_template("checkin/record.html", record=found, student=found.assignment.student,
                           keys_form=KeysForm(), spare_rows=SPARE_KEY_ROWS + 1,
                           is_self=current_user.student_id == found.assignment.student_id,
                           dispute_form=DisputeForm(), answer_form=AnswerForm(),
                           title=_("Check-in of %(student)s", student=found.assignment.student.display),
                           **_common())


@bp.post("/checkin/<int:check_in_id>/settle-keys")
@staff_required
def settle_keys(check_in_id: int):
    """Keys an automatic check-out left open, brought back (or found missing) later at the desk."""
    found = services.load_check_in(check_in_id) or abort(404)
    submit(None, lambda: leaving.settle_keys(found, key_returns_from(request.form, found.keys), actor=current_user),
           _("Keys recorded."))
    return redirect(url_for("checkin.record", check_in_id=found.id, _anchor="keys"))


@bp.post("/checkin/<int:check_in_id>/keys")
@building_staff_required
def add_keys(check_in_id: int):
    found = _visible_check_in_or_404(check_in_id)
    submit(KeysForm(), lambda: services.add_keys(found, keys_from(request.form), actor=current_user),
          _("Keys handed out."))
    return redirect(url_for("checkin.record", check_in_id=found.id, _anchor="keys"))


@bp.post("/checkin/<int:check_in_id>/items/<int:item_id>/resolve")
@building_staff_required
def resolve(check_in_id: int, item_id: int):
    found = _visible_check_in_or_404(check_in_id)
    form = ResolveForm()
    submit(form, lambda: services.resolve_dispute(found, item_id, Condition(form.condition.data), form.note.data,
                                                 actor=current_user), _("The dispute is answered."))
    return redirect(url_for("checkin.record", check_in_id=found.id, _anchor="report"))


@bp.get("/checkin/<int:check_in_id>/photos/<int:photo_id>")
@login_required
def photo(check_in_id: int, photo_id: int):
    found = _visible_check_in_or_404(check_in_id)
    return photo_response(services.photo_of(found, photo_id) or abort(404))


# --- check-out and room change (staff) --------------------------------------------------------------------------

def _leaving_student_or_back(student_id: int):
    """The student and their current check-in, or a redirect to their page saying why they cannot leave it."""
    student = visible_student_or_404(student_id)
    try:
        return student, services.require_checked_in(student), None
    except ServiceError as error:
        flash(str(error), "danger")
        return student, None, redirect(url_for("students.detail", student_id=student.id))


def _inspection_page(template: str, record: CheckIn, student: Student, form, title: str, **extra):
    """The check-out and room change forms: both inspect the room against the check-in report."""
    return render_template(template, record=record, student=student, form=form,
                           now_conditions=services.now_conditions(record), damage_rows=DAMAGE_ROWS,
                           title=title, **extra, **_common())


@bp.route("/checkin/students/<int:student_id>/check-out", methods=["GET", "POST"])
@building_staff_required
def check_out(student_id: int):
    student, found, back = _leaving_student_or_back(student_id)
    if back is not None:
        return back
    form = CheckOutForm()
    if request.method == "POST" and submit(form, lambda: services.check_out(
            student, inspection_from(request.form, found, request.files.getlist("photos")), actor=current_user),
            _("%(student)s checked out of %(bed)s.", student=student.display, bed=found.assignment.bed.code)):
        return redirect(url_for("checkin.record", check_in_id=found.id))
    return _inspection_page("checkin/check_out.html", found, student, form,
                            _("Check-out of %(student)s", student=student.display))


@bp.route("/checkin/students/<int:student_id>/room-change", methods=["GET", "POST"])
@staff_required
def room_change(student_id: int):
    student, found, back = _leaving_student_or_back(student_id)
    if back is not None:
        return back
    form = RoomChangeForm()
    if request.method == "POST":
        def action():
            bed = services.bed_by_code(form.bed.data)
            names = {item.id: item.kind.label for item in facilities.items_in(bed.room_id)}
            return services.change_room(student, bed, inspection_from(request.form, found),
                                        keys=keys_from(request.form), items=item_states_from(request.form, names),
                                        actor=current_user)

        if submit(form, action, lambda new: _("%(student)s moved to %(bed)s and is checked in there.",
                                             student=student.display, bed=new.assignment.bed.code)):
            return redirect(url_for("checkin.record", check_in_id=services.current_check_in(student).id))
    return _inspection_page("checkin/room_change.html", found, student, form,
                            _("Room change of %(student)s", student=student.display), spare_rows=SPARE_KEY_ROWS + 1)


# --- lists for the office ---------------------------------------------------------------------------------------

@bp.get("/checkin/reports")
@staff_required
def reports():
    state = request.args.get("state", "pending")
    if state not in services.REPORT_FILTERS:
        state = "pending"
    page = page_number(request.args)
    rows, total = services.reports(state, page=page, per_page=LIST_PER_PAGE)
    return render_template("checkin/reports.html", rows=rows, total=total, state=state, page=page,
                           has_next=page * LIST_PER_PAGE < total, title=_("Condition reports"), **_common())


@bp.get("/checkin/check-outs")
@staff_required
def check_outs():
    page = page_number(request.args)
    rows, total = services.recent_check_outs(page=page, per_page=LIST_PER_PAGE)
    return render_template("checkin/check_outs.html", rows=rows, total=total, page=page,
                           has_next=page * LIST_PER_PAGE < total, title=_("Check-outs"), **_common())


@bp.get("/checkin/export/<any('check-ins', 'pending', 'check-outs'):what>.<file_format>")
@staff_required
def export(what: str, file_format: str):
    if file_format not in MIME_TYPES:
        abort(404)
    headers, rows = exports.TABLES[what](campus_zone())
    return table_download(headers, rows, file_format, what)


# --- the student's own page -------------------------------------------------------------------------------------

def _me() -> Student:
    return db.session.get(Student, current_user.student_id)


@bp.get("/checkin/me")
@roles_required(Role.STUDENT)
def mine():
    student = _me()
    assignment = residence.current_assignment(student)
    current = services.check_in_of(assignment)
    history = services.history_of(student, leaving_out=current)
    return render_template(
        "checkin/mine.html", student=student, assignment=assignment, current=current, history=history,
        items=facilities.items_in(assignment.bed.room_id) if assignment is not None and current is None else [],
        self_service=services.self_service_allowed(), check_in_form=CheckInForm(), answer_form=AnswerForm(),
        dispute_form=DisputeForm(), ack_hours=services.ack_hours(), title=_("My check-in"), **_common())


@bp.post("/checkin/me/check-in")
@roles_required(Role.STUDENT)
def self_check_in():
    student = _me()
    form = CheckInForm()
    names = {item.id: item.kind.label for item in _items_of(student)}
    submit(form, lambda: services.check_in(
        student, items=item_states_from(request.form, names), note=form.note.data or "",
        photos=request.files.getlist("photos"), actor=current_user, self_service=True),
        _("You are checked in. Check the room report below and acknowledge it."))
    return redirect(url_for("checkin.mine"))


@bp.post("/checkin/<int:check_in_id>/acknowledge")
@roles_required(Role.STUDENT)
def acknowledge(check_in_id: int):
    found = _visible_check_in_or_404(check_in_id)
    submit(AnswerForm(), lambda: services.acknowledge(found, _me()), _("Thank you: the report is acknowledged."))
    return redirect(url_for("checkin.mine"))


@bp.post("/checkin/<int:check_in_id>/items/<int:item_id>/dispute")
@roles_required(Role.STUDENT)
def dispute(check_in_id: int, item_id: int):
    found = _visible_check_in_or_404(check_in_id)
    form = DisputeForm()
    submit(form, lambda: services.dispute(found, _me(), item_id, form.note.data),
          _("Your dispute is recorded; the housing office will look at it."))
    return redirect(url_for("checkin.mine", _anchor="report"))
