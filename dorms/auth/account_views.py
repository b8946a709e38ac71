"""The accounts pages (blueprint "accounts", /accounts): the housing office manages accounts in the app.

Staff change; an auditor reads the list (core.roles). A password the office sets or generates is shown
once, on the page answering the post (never put in the session or a flash), and is one-time.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..campus import services as places
from ..core.enums import Role
from ..core.errors import ServiceError
from ..core.forms import confirmed, known_choice, page_number, row_id, submit
from ..core.roles import staff_required
from ..core.tables import MIME_TYPES, table_download
from ..extensions import db
from ..residence.residents import StudentFilters
from . import accounts
from .forms import AccountForm, AccountSearchForm, ResetPasswordForm, RoleForm

bp = Blueprint("accounts", __name__, url_prefix="/accounts")


def _listed(text: str | None) -> list[str]:
    """Classes or colleges typed with commas (Chinese or ASCII) between them."""
    return [part.strip()[:120] for part in (text or "").replace("，", ",").split(",") if part.strip()]


def _building_ids() -> list[int]:
    return [i for i in (row_id(v) for v in request.form.getlist("buildings")) if i is not None]


def _shown_once(template: str, **context):
    """A page carrying a password: no cache keeps it, and reloading it posts nothing again."""
    response = make_response(render_template(template, **context))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
@staff_required
def index():
    form = AccountSearchForm(request.args, meta={"csrf": False})
    page = page_number(request.args)
    rows, total = accounts.search(accounts.AccountFilters(text=form.q.data, role=known_choice(form.role),
                                                          active=known_choice(form.active)), page=page)
    return render_template("auth/accounts.html", form=form, rows=rows, total=total, page=page,
                           per_page=accounts.PER_PAGE, new_form=AccountForm(), buildings=places.buildings(),
                           title=_("Accounts"))


@bp.post("/")
@staff_required
def create():
    form = AccountForm()
    made = submit(form, lambda: accounts.create_account(
        form.username.data, role=Role(form.role.data), display_name=form.display_name.data or "",
        password=form.password.data or None, student_number=form.student_number.data or "",
        classes=_listed(form.classes.data), colleges=_listed(form.colleges.data), building_ids=_building_ids(),
        actor=current_user), "")
    if not made:
        # The office's typing stays (but the password): the page answers the post itself.
        form.password.data = ""
        rows, total = accounts.search(accounts.AccountFilters())
        return render_template("auth/accounts.html", form=AccountSearchForm(meta={"csrf": False}), rows=rows,
                               total=total, page=1, per_page=accounts.PER_PAGE, new_form=form,
                               buildings=places.buildings(), chosen=_building_ids(), title=_("Accounts")), 400
    user, generated = made.result
    return _shown_once("auth/account_password.html", user=user, password=generated,
                       title=_("Account %(username)s created", username=user.username))


def _account_or_404(user_id: int):
    return accounts.load(user_id) or abort(404)


@bp.get("/<int:user_id>")
@staff_required
def detail(user_id: int):
    user = _account_or_404(user_id)
    role_form = RoleForm(role=user.role.value,
                         classes=", ".join(s.class_name for s in user.scopes if s.class_name),
                         colleges=", ".join(s.college for s in user.scopes if s.college))
    return render_template("auth/account.html", user=user, role_form=role_form, password_form=ResetPasswordForm(),
                           buildings=places.buildings(), managed={m.building_id for m in user.managed},
                           title=_("Account %(username)s", username=user.username))


@bp.post("/<int:user_id>/active")
@staff_required
def set_active(user_id: int):
    user = _account_or_404(user_id)
    active = request.form.get("active") == "y"
    submit(None, lambda: accounts.set_active(user, active, actor=current_user),
           _("%(username)s is active again.", username=user.username) if active else
           _("%(username)s is deactivated and signed out everywhere.", username=user.username))
    return redirect(url_for(".detail", user_id=user.id))


@bp.post("/<int:user_id>/password")
@staff_required
def reset_password(user_id: int):
    user = _account_or_404(user_id)
    form = ResetPasswordForm()
    done = submit(form, lambda: accounts.reset_password(user, form.password.data or None, actor=current_user), "")
    if not done:
        return redirect(url_for(".detail", user_id=user.id))
    return _shown_once("auth/account_password.html", user=user, password=done.result, reset=True,
                       title=_("New password for %(username)s", username=user.username))


@bp.post("/<int:user_id>/role")
@staff_required
def change_role(user_id: int):
    user = _account_or_404(user_id)
    form = RoleForm()
    submit(form, lambda: accounts.change_role(user, Role(form.role.data), building_ids=_building_ids(),
                                              classes=_listed(form.classes.data),
                                              colleges=_listed(form.colleges.data), actor=current_user))
    return redirect(url_for(".detail", user_id=user.id))


@bp.post("/students")
@staff_required
def student_accounts():
    """Accounts for the students ticked on the student list (or all matching its filters) who have none; the
    answer is the list of one-time passwords to download, in the reader's language. Nothing keeps them."""
    file_format = request.form.get("file_format", "xlsx")
    if file_format not in MIME_TYPES:
        abort(400)
    ticked = request.form.getlist("student")
    filters = StudentFilters(text=(request.form.get("q") or "")[:64] or None,
                             class_name=(request.form.get("class_name") or "")[:120] or None,
                             status=request.form.get("status") or None, housed=request.form.get("housed") or None)
    if filters.status not in (None, "active", "suspended", "graduated", "withdrawn", "left"):
        filters.status = None
    try:
        students = accounts.students_for_accounts(
            current_user, student_ids=[i for i in map(row_id, ticked) if i is not None]
            if request.form.get("scope") != "filtered" else None, filters=filters)
        # Asked once the list could be made (none chosen or too many are refused below, without asking).
        asked = ngettext("%(num)d student without an account was chosen: each gets one.",
                         "%(num)d students without an account were chosen: each gets one.", len(students))
        if 0 < len(students) <= accounts.BULK_LIMIT and not confirmed(request.form, asked):
            return redirect(url_for("students.index", **{k: v for k, v in filters.__dict__.items() if v}))
        issued = accounts.create_student_accounts(students, actor=current_user)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("students.index", **{k: v for k, v in filters.__dict__.items() if v}))
    response = table_download(*accounts.password_list(issued), file_format, "student-accounts")
    response.headers["Cache-Control"] = "no-store"
    return response
