"""Pages of the checkin feature: the desk (staff), a check-in's record, check-out and room change (staff),
the student's own page (self check-in, answering the report), exports."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from ..auth.access import can_view_student, roles_required, staff_required
from ..core.clock import campus_zone
from ..core.enums import Role
from ..core.errors import ServiceError
from ..core.forms import MAX_ID, error_text, page_number
from ..extensions import db
from ..facilities.models import Condition
from ..photos import Photo, photo_response
from ..residence import services as residence
from ..students.models import Student
from ..transfer.tables import MIME_TYPES, table_download
from . import exports, services
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
    inspection_from,
    item_states_from,
    keys_from,
)
from .models import CheckIn, KeyKind, ReportState, check_in_photos, yuan

bp = Blueprint("checkin", __name__)
PER_PAGE = 25


def _save(form, action, message: str | None = None) -> bool:
    """Like core.forms.submit (validate, run the service, commit once; a refusal changes nothing),
    but says what was done instead of "Saved."."""
    if not form.validate_on_submit():
        flash(error_text(form) or _("Check the form."), "danger")
        return False
    try:
        result = action()
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return False
    flash(message(result) if callable(message) else (message or _("Saved.")), "success")
    return True


@bp.app_context_processor
def checkin_helpers():
    """For the includes on the student and room pages (which have checked who may see what)."""
    return {"checkin_latest": services.latest_check_in, "checkin_by_assignment": services.by_assignment,
            "yuan": yuan}


def _common():
    return {"key_kinds": KeyKind.choices(), "conditions": Condition.choices(), "yuan": yuan,
            "ReportState": ReportState}


def _building_id() -> int | None:
    value = request.args.get("building", type=int)
    return value if value and 0 < value <= MAX_ID else None


# --- the desk ---------------------------------------------------------------------------------------------------

@bp.get("/checkin/desk")
@staff_required
def desk():
    form = DeskSearchForm(request.args, meta={"csrf": False})
    query = (form.q.data or "").strip()[:64]
    found = assignment = record = None
    items = []
    if query:
        found = services.find_student(query)
        if found is not None:
            assignment = residence.current_assignment(found)
            record = services.check_in_of(assignment)
            if assignment is not None and record is None:
                items = services.room_items(assignment.bed.room_id)
    building_id = _building_id()
    page, expected_page = page_number(request.args), min(max(request.args.get("epage", 1, type=int), 1), 10_000)
    today, today_total = services.todays_check_ins(building_id=building_id, page=page, per_page=PER_PAGE)
    waiting, waiting_total = services.expected(building_id=building_id, page=expected_page, per_page=PER_PAGE)
    progress = services.progress_by_building()
    chart = Markup(progress_chart(progress)) if progress else None
    return render_template(
        "checkin/desk.html", form=form, query=query, found=found, assignment=assignment, record=record,
        items=items, keys=services.suggested_keys(assignment) if assignment is not None else [],
        spare_rows=SPARE_KEY_ROWS, check_in_form=CheckInForm(), progress=progress, chart=chart,
        buildings=[p.building for p in progress], building_id=building_id,
        today=today, today_total=today_total, page=page, waiting=waiting, waiting_total=waiting_total,
        expected_page=expected_page, per_page=PER_PAGE, title=_("Check-in desk"), **_common())


@bp.post("/checkin/students/<int:student_id>/check-in")
@staff_required
def check_in(student_id: int):
    student = db.get_or_404(Student, student_id)
    form = CheckInForm()
    names = {item.id: item.kind.label for item in _items_of(student)}
    _save(form, lambda: services.check_in(
        student, keys=keys_from(request.form), items=item_states_from(request.form, names),
        note=form.note.data or "", photos=request.files.getlist("photos"), actor=current_user),
        _("%(student)s is checked in.", student=student.display))
    return redirect(url_for("checkin.desk", q=student.student_number))


def _items_of(student: Student):
    assignment = residence.current_assignment(student)
    return services.room_items(assignment.bed.room_id) if assignment is not None else []


# --- one check-in's record --------------------------------------------------------------------------------------

def _visible_check_in_or_404(check_in_id: int) -> CheckIn:
    """Out-of-scope students' records are reported missing, as their student pages are."""
    if check_in_id > MAX_ID:
        abort(404)
    record = services.load_check_in(check_in_id)
    if record is None or not can_view_student(current_user, record.assignment.student):
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


@bp.post("/checkin/<int:check_in_id>/keys")
@staff_required
def add_keys(check_in_id: int):
    found = _visible_check_in_or_404(check_in_id)

    def action():
        keys = keys_from(request.form)
        if not keys:
            raise ServiceError(_("Give at least one key's number or label."))
        services.add_keys(found, keys, actor=current_user)

    _save(KeysForm(), action, _("Keys handed out."))
    return redirect(url_for("checkin.record", check_in_id=found.id, _anchor="keys"))


@bp.post("/checkin/<int:check_in_id>/items/<int:item_id>/resolve")
@staff_required
def resolve(check_in_id: int, item_id: int):
    found = _visible_check_in_or_404(check_in_id)
    form = ResolveForm()
    _save(form, lambda: services.resolve_dispute(found, item_id, Condition(form.condition.data), form.note.data,
                                                 actor=current_user), _("The dispute is answered."))
    return redirect(url_for("checkin.record", check_in_id=found.id, _anchor="report"))


@bp.get("/checkin/<int:check_in_id>/photos/<int:photo_id>")
@login_required
def photo(check_in_id: int, photo_id: int):
    found = _visible_check_in_or_404(check_in_id)
    linked = db.session.scalar(sa.select(Photo).join(check_in_photos, check_in_photos.c.photo_id == Photo.id)
                               .where(check_in_photos.c.check_in_id == found.id, Photo.id == photo_id))
    if linked is None:
        abort(404)
    return photo_response(linked)


# --- check-out and room change (staff) --------------------------------------------------------------------------

def _checked_in_or_back(student: Student):
    """The student's current check-in, or a redirect to their page saying why they cannot check out."""
    try:
        return services._require_checked_in(student), None
    except ServiceError as error:
        flash(str(error), "danger")
        return None, redirect(url_for("students.detail", student_id=student.id))


@bp.route("/checkin/students/<int:student_id>/check-out", methods=["GET", "POST"])
@staff_required
def check_out(student_id: int):
    student = db.get_or_404(Student, student_id)
    found, back = _checked_in_or_back(student)
    if back is not None:
        return back
    form = CheckOutForm()
    if request.method == "POST" and _save(form, lambda: services.check_out(
            student, inspection_from(request.form, found, request.files.getlist("photos")), actor=current_user),
            _("%(student)s checked out of %(bed)s.", student=student.display, bed=found.assignment.bed.code)):
        return redirect(url_for("checkin.record", check_in_id=found.id))
    return render_template("checkin/check_out.html", record=found, student=student, form=form,
                           now_conditions=_now_conditions(found), damage_rows=DAMAGE_ROWS,
                           title=_("Check-out of %(student)s", student=student.display), **_common())


def _now_conditions(found: CheckIn) -> dict[int, Condition]:
    """The inventory's condition now of each report item (by report item id), beside the check-in state."""
    from ..facilities.models import InventoryItem

    ids = [item.inventory_item_id for item in found.items if item.inventory_item_id]
    stock = {item_id: condition for item_id, condition in db.session.execute(
        sa.select(InventoryItem.id, InventoryItem.condition).where(InventoryItem.id.in_(ids)))} if ids else {}
    return {item.id: stock.get(item.inventory_item_id, item.condition) for item in found.items}


@bp.route("/checkin/students/<int:student_id>/room-change", methods=["GET", "POST"])
@staff_required
def room_change(student_id: int):
    student = db.get_or_404(Student, student_id)
    found, back = _checked_in_or_back(student)
    if back is not None:
        return back
    form = RoomChangeForm()
    if request.method == "POST":
        def action():
            bed = services.find_bed(form.bed.data)
            if bed is None:
                raise ServiceError(_("New bed: there is no bed %(bed)s (write it as building-room-bed, "
                                     "e.g. A1-102-1).", bed=form.bed.data))
            names = {item.id: item.kind.label for item in services.room_items(bed.room_id)}
            return services.change_room(student, bed, inspection_from(request.form, found),
                                        keys=keys_from(request.form), items=item_states_from(request.form, names),
                                        actor=current_user)

        if _save(form, action, lambda new: _("%(student)s moved to %(bed)s and is checked in there.",
                                             student=student.display, bed=new.assignment.bed.code)):
            return redirect(url_for("checkin.record", check_in_id=services.current_check_in(student).id))
    return render_template("checkin/room_change.html", record=found, student=student, form=form,
                           now_conditions=_now_conditions(found), damage_rows=DAMAGE_ROWS,
                           spare_rows=SPARE_KEY_ROWS + 1,
                           title=_("Room change of %(student)s", student=student.display), **_common())


# --- lists for the office ---------------------------------------------------------------------------------------

@bp.get("/checkin/reports")
@staff_required
def reports():
    state = request.args.get("state", "pending")
    if state not in services.REPORT_FILTERS:
        state = "pending"
    page = page_number(request.args)
    rows, total = services.reports(state, page=page, per_page=50)
    return render_template("checkin/reports.html", rows=rows, total=total, state=state, page=page,
                           has_next=page * 50 < total, title=_("Condition reports"), **_common())


@bp.get("/checkin/check-outs")
@staff_required
def check_outs():
    page = page_number(request.args)
    rows, total = services.recent_check_outs(page=page, per_page=50)
    return render_template("checkin/check_outs.html", rows=rows, total=total, page=page,
                           has_next=page * 50 < total, title=_("Check-outs"), **_common())


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
    history = [r for r in services.history_of(student) if current is None or r.id != current.id]
    return render_template(
        "checkin/mine.html", student=student, assignment=assignment, current=current, history=history,
        items=services.room_items(assignment.bed.room_id) if assignment is not None and current is None else [],
        self_service=services.self_service_allowed(), check_in_form=CheckInForm(), answer_form=AnswerForm(),
        dispute_form=DisputeForm(), ack_hours=services.ack_hours(), title=_("My check-in"), **_common())


@bp.post("/checkin/me/check-in")
@roles_required(Role.STUDENT)
def self_check_in():
    student = _me()
    form = CheckInForm()
    names = {item.id: item.kind.label for item in _items_of(student)}
    _save(form, lambda: services.check_in(
        student, items=item_states_from(request.form, names), note=form.note.data or "",
        photos=request.files.getlist("photos"), actor=current_user, self_service=True),
        _("You are checked in. Check the room report below and acknowledge it."))
    return redirect(url_for("checkin.mine"))


@bp.post("/checkin/<int:check_in_id>/acknowledge")
@roles_required(Role.STUDENT)
def acknowledge(check_in_id: int):
    found = _visible_check_in_or_404(check_in_id)
    _save(AnswerForm(), lambda: services.acknowledge(found, _me()), _("Thank you: the report is acknowledged."))
    return redirect(url_for("checkin.mine"))


@bp.post("/checkin/<int:check_in_id>/items/<int:item_id>/dispute")
@roles_required(Role.STUDENT)
def dispute(check_in_id: int, item_id: int):
    found = _visible_check_in_or_404(check_in_id)
    form = DisputeForm()
    _save(form, lambda: services.dispute(found, _me(), item_id, form.note.data),
          _("Your dispute is recorded; the housing office will look at it."))
    return redirect(url_for("checkin.mine", _anchor="report"))
