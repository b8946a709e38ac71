"""Language and time zone selection, and the language switcher."""
from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    has_request_context,
    redirect,
    request,
    session,
)
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from .config import SUPPORTED_LOCALES
from .core.urls import local_target
from .extensions import db

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The user's saved choice, then this browser's choice, then Accept-Language."""
    if not has_request_context():  # command line, background jobs
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in SUPPORTED_LOCALES:
        return current_user.locale
    return visitor_locale(session.get("locale"), request.headers.get("Accept-Language", ""))


def visitor_locale(chosen: str | None, accept_language: str) -> str:
    """The language a browser chose (kept in its session), else the best of its Accept-Language, else the
    default: also for a request answered before its account is read (signing in copies the account's choice
    into the session)."""
    if chosen in SUPPORTED_LOCALES:
        return chosen
    return parse_accept_header(accept_language, LanguageAccept).best_match(
        SUPPORTED_LOCALES, default=current_app.config["BABEL_DEFAULT_LOCALE"])


def reader_language() -> str:
    """"zh" or "en": the language of the page being read (what a download from it follows)."""
    from flask_babel import get_locale

    locale = get_locale()
    return "zh" if locale is not None and locale.language == "zh" else "en"


# The command line's --language: its machine-readable words unless asked otherwise.
CLI_LANGUAGES = {"zh": "zh_CN", "en": "en"}


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


@bp.post("/language/<code>")
def set_language(code: str):
    if code in SUPPORTED_LOCALES:
        session["locale"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    return redirect(local_target(request.form.get("next")))
