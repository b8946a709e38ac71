from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_remembered, login_required, login_user, logout_user

from ..config import SUPPORTED_LOCALES
from ..core.clock import utcnow
from ..core.errors import ServiceError
from ..core.urls import local_target
from ..extensions import csrf, db, limiter, login_account_address_key, password_change_key
from . import backends, services
from .forms import LoginForm, PasswordChangeForm

bp = Blueprint("auth", __name__)


def _account_limit() -> str:
    return current_app.config["DORMS_LOGIN_LIMIT"]


def _address_limit() -> str:
    return current_app.config["DORMS_LOGIN_ADDRESS_LIMIT"]


def _failed(response) -> bool:
    """Only failed attempts count against the limits; a success redirects."""
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"], deduct_when=_failed)
@limiter.limit(_account_limit, methods=["POST"], deduct_when=_failed, key_func=login_account_address_key)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = backends.authenticate(form.username.data, form.password.data)
        if user is None:
            flash(_("Wrong username or password."), "danger")
        else:
            _sign_in(user, remember=form.remember.data)
            return redirect(local_target(request.args.get("next")))
    return render_template("auth/login.html", form=form)


def _json_failed(response) -> bool:
    return response.status_code != 200


@bp.post("/api/session")
@csrf.exempt  # JSON only: a page of another site cannot send it without the browser asking this one first
@limiter.limit(_address_limit, deduct_when=_json_failed)
@limiter.limit(_account_limit, deduct_when=_json_failed, key_func=login_account_address_key)
def api_sign_in():
    """Sign in from a program (a campus app, a load tool): ``{"username", "password"}`` as JSON; the answer
    sets the session cookie the JSON APIs read, as the sign-in form does."""
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("username", "password")):
        return jsonify(error=_("Send JSON with a username and a password.")), 400
    user = backends.authenticate(body["username"], body["password"])
    if user is None:
        return jsonify(error=_("Wrong username or password.")), 401
    _sign_in(user, remember=False)
    return jsonify(username=user.username, role=user.role.value)


def _sign_in(user, *, remember: bool) -> None:
    _rotate_session()
    if services.ends_other_sessions(user):  # before login_user: this session carries the new version
        user.end_sessions()
    login_user(user, remember=remember)
    # What a request may be answered with before its account is loaded (selection day's waiting room).
    if user.locale in SUPPORTED_LOCALES:
        session["locale"] = user.locale
    if user.student_id is not None:
        session[services.SESSION_STUDENT] = user.student_id
    user.last_login_at = utcnow()
    db.session.commit()


def _rotate_session() -> None:
    """Sign in on a fresh session: nothing put into the cookie before (a fixated one) carries over, but
    the language chosen on the sign-in page."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


@bp.post("/logout")
def logout():
    # Signing out ends every sign-in of the account, this one's remember cookie included: a copy of
    # the cookie (or of the session) taken before could otherwise sign in again, since both are
    # stateless; a version change is the one way to turn it away.
    if current_user.is_authenticated:
        current_user.end_sessions()
        db.session.commit()
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(_account_limit, methods=["POST"], deduct_when=_failed, key_func=password_change_key)
def change_password():
    user = current_user._get_current_object()  # login_user below needs the user itself, not the proxy
    form = PasswordChangeForm()
    local = user.auth_source == "local"
    if local and form.validate_on_submit():
        try:
            services.change_password(user, form.current_password.data, form.new_password.data)
        except ServiceError as error:
            flash(str(error), "danger")
        else:
            # The other sign-ins have ended; this one goes on under the new version.
            login_user(user, remember=login_remembered())
            db.session.commit()
            flash(_("Your password is changed. You are signed out everywhere else."), "success")
            return redirect(url_for("dashboard.index"))
    return render_template("auth/password.html", form=form, local=local,
                           min_length=services.MIN_PASSWORD_LENGTH)
