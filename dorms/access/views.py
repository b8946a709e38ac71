"""Curfew pages: the night's report for counselors (their students) and staff (everyone), a student's own record."""
from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from .. import audit
from ..campus import services as campus_services
from ..campus.models import Building
from ..core.enums import Gender, Role
from ..core.errors import ServiceError
from ..core.forms import (date_arg, error_text, in_date_range, number_arg, options, page_number, refuse, row_id,
                          submit)
from ..core.roles import roles_required, staff_required
from ..core.tables import MIME_TYPES, table_download
from ..extensions import db
from ..students.models import Student
from ..students.scopes import can_view_student, visible_student_or_404, visible_students_clause
from . import calendar, devices, entitlements, permissions, reports, tokens
from .charts import curfew_trend_chart
from .curfew import Status
from .forms import (
    CurfewRuleForm,
    DecisionForm,
    DeviceForm,
    HolidayForm,
    PermissionRequestForm,
    TermForm,
    TokenForm,
)
from .labels import (
    CHART_COLOURS,
    DIRECTION_LABELS,
    FEED_LABELS,
    PROTOCOL_LABELS,
    SEVERITY,
    STATUS_LABELS,
    STATUS_STYLES,
)
from .models import (
    ApiToken,
    CurfewRule,
    NoCurfewNight,
    Permission,
    PermissionKind,
    PermissionStatus,
)

bp = Blueprint("curfew", __name__, url_prefix="/curfew")

# door_data: the building's door data that night: as usual, low (far below usual) or none (FEED_LABELS).
EXPORT_COLUMNS = ["student_number", "name", "class", "college", "building", "status", "time", "last_seen",
                  "last_door", "door_data"]


def _night() -> date:
    """The night asked for; nights not over yet (after the last finished one) show the last finished one."""
    last = reports.last_finished_night()
    return min(date_arg(request.args, "night") or last, last)


def _scope():
    """Whose statuses this user may see; students only ever see their own page."""
    return None if current_user.sees_everything else visible_students_clause(current_user)


def _scope_key() -> object:
    """What names _scope()'s students for kept reports: everyone, or this user's (a counselor's scopes are in
    the tables kept reports depend on)."""
    return "everyone" if current_user.sees_everything else ("user", current_user.id)


# Rows a page of the night's report lists: the worst first, so what needs acting on is on the first page.
NIGHT_PAGE_SIZE = 100


@bp.get("/")
@roles_required(Role.STAFF, Role.COUNSELOR)
def night():
    day = _night()
    status = request.args.get("status")
    chosen = Status(status) if status in {s.value for s in Status} else None
    page = page_number(request.args)
    scope, scope_key = _scope(), _scope_key()

    def report() -> tuple[str, bool, list, bool]:
        """The report below the header, rendered, with what the header needs from it; the same for everyone
        who sees the same students, so it is kept while it was read from rolled-up rows."""
        overview = reports.kept_night_overview(day, scope, scope_key)
        if not overview.has_curfew:
            return "", False, [], overview.from_kept
        listed = overview.totals.get(chosen, 0) if status else overview.count
        rows = [] if status and chosen is None else reports.night_rows(overview, scope, SEVERITY, chosen, page,
                                                                       NIGHT_PAGE_SIZE)
        chart = Markup(curfew_trend_chart(overview.trend, STATUS_LABELS, CHART_COLOURS)) \
            if any(any(counts.values()) for _d, counts in overview.trend) else None
        html = render_template(
            "access/_night_report.html", night=day, rows=rows, all_count=overview.count, totals=overview.totals,
            status=status, no_data=Status.NO_DATA, quiet=(Status.IN, Status.EXCUSED, Status.NO_DATA),
            alerts=overview.alerts, chart=chart, by_class=overview.by_class, by_college=overview.by_college,
            by_building=overview.by_building, labels=STATUS_LABELS, styles=STATUS_STYLES, page=page,
            per_page=NIGHT_PAGE_SIZE, listed=listed, statuses=SEVERITY)
        return html, True, overview.feeds, overview.from_kept

    html, has_curfew, feeds, _from_kept = reports.kept_while_rolled_up(
        "access.night_page", report, (day, scope_key, status, page, str(get_locale())), lambda value: value[3])
    return render_template(
        "access/night.html", night=day, report=Markup(html), has_curfew=has_curfew,
        feeds=reports.with_devices(feeds), feed_history=reports.feed_settings()["history"],
        previous=day - timedelta(days=1), following=day + timedelta(days=1))


@bp.get("/export.<file_format>")
@roles_required(Role.STAFF, Role.COUNSELOR)
def export(file_format: str):
    if file_format not in MIME_TYPES:
        abort(404)
    day = _night()
    rows = reports.night_report(day, _scope())
    feeds = {f.building: f.state for f in reports.feed_health(day, rows)} if rows else {}
    data = [[r.student_number, r.name, r.class_name, r.college, r.building, str(STATUS_LABELS[r.status]),
             r.time.isoformat(timespec="minutes") if r.time else "",
             r.last_seen.isoformat(timespec="minutes") if r.last_seen else "", r.last_door,
             str(FEED_LABELS[feeds.get(r.building, "ok")])]
            for r in rows]
    return table_download(EXPORT_COLUMNS, data, file_format, f"curfew-{day}")


def _range() -> tuple[date, date]:
    last = reports.last_finished_night()
    last = min(date_arg(request.args, "last") or last, last)  # nights not over yet are not counted
    first = date_arg(request.args, "first") or last - timedelta(days=29)
    if first > last or (last - first).days > 366:
        abort(400)
    return first, last


@bp.get("/range")
@roles_required(Role.STAFF, Role.COUNSELOR)
def over_range():
    """Several nights at once: each student's late and absent nights, and the nights' totals."""
    first, last = _range()
    found = reports.range_report(first, last, _scope())
    return render_template("access/range.html", first=first, last=last, tallies=found.tallies, feeds=found.feeds,
                           grouped=reports.group_feeds(found.feeds),
                           feed_history=reports.feed_settings()["history"], title=_("Curfew over several nights"))


@bp.get("/range.<file_format>")
@roles_required(Role.STAFF, Role.COUNSELOR)
def export_range(file_format: str):
    if file_format not in MIME_TYPES:
        abort(404)
    first, last = _range()
    # nights: those with a status; nights without door data are the no_data column
    headers = ["student_number", "name", "class", "college", "nights", "late", "absent", "excused",
               *[str(STATUS_LABELS[s]) for s in SEVERITY]]
    data = [[t.student_number, t.name, t.class_name, t.college, t.nights, t.late, t.absent, t.excused,
             *[t.counts.get(s, 0) for s in SEVERITY]] for t in reports.tally(first, last, _scope())]
    return table_download(headers, data, file_format, f"curfew-{first}-{last}")


@bp.get("/me")
@login_required
def mine():
    """A student's own statuses over the last fortnight."""
    if not current_user.is_student:
        return redirect(url_for(".night"))
    return _history(current_user.student)


@bp.get("/students/<int:student_id>")
@roles_required(Role.STAFF, Role.COUNSELOR)
def student(student_id: int):
    """One student's fortnight, for staff and the student's counselor; who looked is logged.

    Only a page opened from this app (or typed, or bookmarked) is shown and logged: a link on another site,
    an image or a frame would otherwise write a view into the log in the user's name. Those get a page
    with a link to the record instead, one tap away."""
    person = visible_student_or_404(student_id)
    if not _opened_here():
        return render_template("access/history_open.html", student=person, title=_("Curfew record"))
    audit.record("access.history.view", student=person)
    db.session.commit()
    return _history(person)


@bp.get("/me/nights/<night>")
@login_required
def my_night(night: str):
    if not current_user.is_student:
        abort(404)
    return _night_page(current_user.student, _night_or_404(night))


@bp.get("/students/<int:student_id>/nights/<night>")
@roles_required(Role.STAFF, Role.COUNSELOR)
def student_night(student_id: int, night: str):
    """A student's door events on one night, with what each door said (opened, refused, how verified)."""
    person, day = visible_student_or_404(student_id), _night_or_404(night)
    if not _opened_here():
        return render_template("access/history_open.html", student=person, title=_("Curfew record"),
                               record_url=request.path)
    audit.record("access.history.view", student=person, night=day.isoformat())
    db.session.commit()
    return _night_page(person, day)


def _night_or_404(night: str) -> date:
    try:
        day = date.fromisoformat(night)
    except ValueError:
        abort(404)
    if not in_date_range(day):
        abort(404)
    return day


def _night_page(person: Student, day: date):
    return render_template("access/night_events.html", student=person, night=day,
                           events=reports.night_events(person.id, day), direction_labels=DIRECTION_LABELS,
                           title=_("Door events"))


def _opened_here() -> bool:
    """Whether the user opened this page themselves: a top-level navigation from this site or from the address
    bar, as the browser's fetch metadata says; browsers without it (older than about 2021) send a Referer
    from this site (Referrer-Policy same-origin sends none to or from elsewhere)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none") and request.headers.get("Sec-Fetch-Mode") == "navigate"
    return bool(request.referrer) and urlsplit(request.referrer).netloc == request.host


def _history(person: Student):
    end = reports.last_finished_night()
    nights = []
    for day_report in reports.kept_week(end, Student.id == person.id, ("student", person.id), days=14):
        day, rows = day_report
        nights.append((day, rows[0] if rows else None))
    return render_template("access/history.html", student=person, nights=list(reversed(nights)),
                           own=current_user.is_student, labels=STATUS_LABELS, styles=STATUS_STYLES,
                           title=_("Curfew record"))


# --- late-return and overnight requests -------------------------------------------------------


@bp.route("/requests", methods=["GET", "POST"])
@roles_required(Role.STUDENT)
def my_requests():
    form = PermissionRequestForm()
    student = current_user.student
    if form.is_submitted() and submit(form, lambda: permissions.request_permission(
            student, PermissionKind(form.kind.data), form.first_night.data, form.last_night.data,
            expected_return=form.expected_return.data, reason=form.reason.data or "",
            destination=form.destination.data or "", emergency_contact=form.emergency_contact.data or ""),
            _("Your request was sent to your counselor.")):
        return redirect(url_for(".my_requests"))
    return render_template("access/my_requests.html", form=form, requests=permissions.requests_of(student),
                           title=_("Late return and overnight requests"))


@bp.post("/requests/<int:permission_id>/withdraw")
@roles_required(Role.STUDENT)
def withdraw_request(permission_id: int):
    permission = db.get_or_404(Permission, permission_id)
    submit(None, lambda: permissions.withdraw(permission, current_user.student), _("Request withdrawn."))
    return redirect(url_for(".my_requests"))


@bp.get("/requests/review")
@roles_required(Role.STAFF, Role.COUNSELOR)
def review():
    return _review_page()


def _review_page(refused: Permission | None = None, message: str = "", comment: str = ""):
    """The requests as cards; a refused decision shows its message and what was typed on its own card."""
    show = request.args.get("show", "pending")
    status = None if show == "all" else PermissionStatus.PENDING
    requests = permissions.requests_for(current_user, status)
    if refused is not None and refused not in requests:  # decided meanwhile: no card to say it on
        flash(message, "danger")
    return render_template("access/review.html", requests=requests,
                           show=show, refused=refused, message=message, comment=comment,
                           title=_("Requests to decide"))


@bp.post("/requests/<int:permission_id>/<any(approve, reject):decision>")
@roles_required(Role.STAFF, Role.COUNSELOR)
def decide(permission_id: int, decision: str):
    permission = db.get_or_404(Permission, permission_id)
    if not can_view_student(current_user, permission.student):
        abort(404)  # someone else's student: as if it did not exist
    form = DecisionForm()
    comment = form.comment.data or ""
    if not form.validate():
        return _review_page(permission, error_text(form), comment)
    try:
        permissions.decide(permission, decision == "approve", current_user, comment)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        return _review_page(permission, str(error), comment)
    flash(_("Approved.") if decision == "approve" else _("Rejected."), "success")
    return redirect(url_for(".review"))


# --- curfew rules and calendar (housing office) ----------------------------------------------


@bp.get("/rules")
@staff_required
def rules():
    rule_form = CurfewRuleForm()
    names = {b.id: f"{b.code} {b.name}" for b in campus_services.buildings()}
    rule_form.building.choices = options([("", _("Every building"))] + [(str(i), name) for i, name in names.items()])
    return render_template("access/rules.html", rules=calendar.rules(), holidays=calendar.holidays(),
                           building_names=names,
                           terms=calendar.terms(), rule_form=rule_form, holiday_form=HolidayForm(),
                           term_form=TermForm(), defaults=reports.DEFAULT_CURFEW, title=_("Curfew rules"))


@bp.post("/rules")
@staff_required
def set_rule():
    form = CurfewRuleForm()
    submit(form, lambda: calendar.set_rule(form.curfew.data, weekend=form.nights.data == "weekend",
                                           building=_chosen_building(form.building.data),
                                           gender=Gender(form.gender.data) if form.gender.data else None))
    return redirect(url_for(".rules"))


def _chosen_building(value: str | None) -> Building | None:
    """The building a rule is for; none chosen is every building. One that does not exist (deleted since the
    page was shown, or an edited form) is refused: read as none, it would set the curfew for the whole campus."""
    if not value:
        return None
    building = db.session.get(Building, number) if (number := row_id(value)) is not None else None
    if building is None:
        raise ServiceError(_("There is no such building."))
    return building


@bp.post("/rules/<int:rule_id>/delete")
@staff_required
def delete_rule(rule_id: int):
    calendar.delete_rule(db.get_or_404(CurfewRule, rule_id))
    db.session.commit()
    return redirect(url_for(".rules"))


@bp.post("/holidays")
@staff_required
def add_holiday():
    form = HolidayForm()
    submit(form, lambda: calendar.add_holiday(form.night.data, form.name.data or ""))
    return redirect(url_for(".rules"))


@bp.post("/holidays/<night>/delete")
@staff_required
def remove_holiday(night: str):
    holiday = db.session.get(NoCurfewNight, _night_or_404(night))
    if holiday is None:
        abort(404)
    calendar.remove_holiday(holiday)
    db.session.commit()
    return redirect(url_for(".rules"))


@bp.post("/terms")
@staff_required
def add_term():
    form = TermForm()
    submit(form, lambda: calendar.add_term(form.code.data, form.name.data or "", form.starts_on.data, form.ends_on.data))
    return redirect(url_for(".rules"))


# --- doors and rooms (housing office) --------------------------------------------------------


@bp.get("/doors")
@staff_required
def doors():
    days = number_arg(request.args, "days", 7, 90)
    residents = entitlements.entitlements()
    return render_template("access/doors.html", days=days, residents=len(residents),
                           without_card=[e for e in residents if not e.cards and not e.pins],
                           visits=entitlements.visits_elsewhere(days), unknown=entitlements.unknown_cards(days),
                           title=_("Doors and rooms"))


@bp.get("/entitlements.<file_format>")
@staff_required
def export_entitlements(file_format: str):
    if file_format not in MIME_TYPES:
        abort(404)
    headers = ["student_number", "name", "building", "cards", "pins"]
    data = [[e.student_number, e.name, e.building, " ".join(e.cards), " ".join(e.pins)]
            for e in entitlements.entitlements()]
    return table_download(headers, data, file_format, "entitlements")


# --- integrations: API tokens and ZKTeco devices (housing office) ------------------------------


def _integrations_page(token_form=None, device_form=None, new_token: str | None = None):
    device_form = device_form or DeviceForm()
    device_form.building.choices = options((b.code, f"{b.code} {b.name}") for b in campus_services.buildings())
    rows = db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id.desc())).all()
    return render_template("access/integrations.html", tokens=rows, devices=devices.devices(),
                           token_form=token_form or TokenForm(), device_form=device_form, new_token=new_token,
                           title=_("Door system integrations"), scope_labels=tokens.SCOPE_LABELS,
                           protocol_labels=PROTOCOL_LABELS)


@bp.get("/integrations")
@staff_required
def integrations():
    return _integrations_page()


@bp.post("/integrations/tokens")
@staff_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        refuse(error_text(form) or _("Check the form."))
        return redirect(url_for(".integrations"))
    _row, token = tokens.create_token(form.name.data, form.scope.data, actor=current_user)
    db.session.commit()
    # Shown in this response only, never stored in the session or a redirect: the server keeps its hash.
    return _integrations_page(new_token=token)


@bp.post("/integrations/tokens/<int:token_id>/revoke")
@staff_required
def revoke_token(token_id: int):
    tokens.revoke_token(db.get_or_404(ApiToken, token_id), actor=current_user)
    db.session.commit()
    flash(_("Token revoked."), "success")
    return redirect(url_for(".integrations"))


@bp.post("/integrations/devices")
@staff_required
def register_device():
    form = DeviceForm()
    form.building.choices = options((b.code, b.code) for b in campus_services.buildings())
    submit(form, lambda: devices.register_device(form.serial_number.data, form.building.data, form.networks.data,
                                   form.door.data or "", form.timezone.data, actor=current_user))
    return redirect(url_for(".integrations"))
