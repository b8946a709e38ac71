"""Request-wide wiring: error pages, template helpers, security headers."""
from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Flask, abort, current_app, g, jsonify, render_template, request
from flask_babel import (
    format_date,
    format_datetime,
    format_percent,
    format_timedelta,
    get_locale,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from markupsafe import Markup
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from ..config import LANGUAGE_NAMES, SUPPORTED_LOCALES
from ..extensions import db
from . import roles
from .again import page_again, refused_page_again
from .clock import campus_today
from .database import UNSTORABLE_TEXT, is_database_busy
from .forms import MAX_ID, option_tags
from .kept import kept

API_PREFIX = "/api/"  # machine endpoints: their errors are JSON, whatever raised them (a routing 404 or 405 too)
MACHINE_PREFIXES = (API_PREFIX, "/iclock/")  # the access-control API and ZKTeco devices' PUSH protocol


class RowIdConverter(IntegerConverter):
    """``<int:…>`` in every route: an id past the columns' range is no row of ours, so the URL is a 404
    before any view runs (PostgreSQL would refuse the number in a query with an error). ASCII digits
    only: Werkzeug's ``\\d+`` would read "/violations/٣" as violation 3."""

    regex = r"[0-9]+"

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


# Scripts only from our own files (no inline script, no event attributes: a page that needs behaviour
# loads it from static/); inline styles stay allowed, as the templates and the SVG charts use them.
# Bootstrap's CSS draws some icons from data: URLs.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
# Every response's headers; one made before Flask dispatches the request (selection's waiting room) sets them too.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
                    "Content-Security-Policy": CONTENT_SECURITY_POLICY}


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = RowIdConverter
    app.add_template_global(option_tags)
    app.add_template_global(nav_menu)

    @app.context_processor
    def template_helpers():
        locale = get_locale()
        return {
            "current_locale": "zh_CN" if locale.language == "zh" else "en",
            "html_lang": str(locale).replace("_", "-"),
            "languages": [(code, LANGUAGE_NAMES[code]) for code in SUPPORTED_LOCALES],
            "format_date": format_date,
            "format_datetime": format_datetime,
            "format_percent": format_percent,
            "format_timedelta": format_timedelta,
        }

    @app.before_request
    def refuse_read_only_changes():
        if not request.path.startswith(MACHINE_PREFIXES):
            roles.refuse_read_only_changes()

    @app.before_request
    def refuse_nul_characters():
        # PostgreSQL cannot store a NUL character in text: a typed or pasted one would fail deep in a
        # query. Pages' addresses, forms and file names carry none. Machine endpoints read their own
        # bodies and check them line by line (reading the form here would use a device's body up).
        if request.path.startswith(MACHINE_PREFIXES):
            return
        texts = [text for values in (request.args, request.form) for pair in values.items(multi=True)
                 for text in pair]
        texts += [upload.filename or "" for upload in request.files.values()]
        if any(UNSTORABLE_TEXT.search(text) for text in texts):
            abort(400, description=_("The address or the form holds a NUL character, which cannot be stored."))

    @app.get("/favicon.ico")
    def favicon():
        # Browsers ask for it on their own, whatever the page links: answer rather than 404.
        return app.send_static_file("favicon.ico")

    for code in (400, 403, 404, 413, 429):
        app.register_error_handler(code, _error_page(code))
    app.register_error_handler(HTTPException, _api_error)  # the other codes: JSON under API_PREFIX, else as they are

    app.register_error_handler(CSRFError, _csrf_failed)

    @app.errorhandler(OperationalError)
    def database_busy(error):
        # SQLite lets one writer at a time: a request that lost the race says so and changes nothing.
        if not is_database_busy(error):
            raise error
        db.session.rollback()
        if request.path.startswith(API_PREFIX):
            return jsonify(error=_("The database was busy; send the request again.")), 409
        return render_template("errors/error.html", code=409, error=error), 409

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if _is_private():
            # Nothing a signed-in user was shown (pages, exports, a new API token) stays in a cache,
            # the browser's back button on a shared computer included.
            response.headers["Cache-Control"] = "no-store"
        return response

    # Registered after security_headers, so it runs before it (Flask runs these last first) and the page it
    # may render instead of a redirect gets the headers.
    app.after_request(refused_page_again)


# The menus drawn, by role, language and where the app is mounted: a handful per process.
_MENUS: dict[tuple, Markup] = {}


def nav_menu() -> Markup:
    """The signed-in user's menu (templates/_nav.html), drawn once per role and language: two dozen links and
    labels on every page otherwise cost a good part of a page's time."""
    key = (current_user.role, str(get_locale()), request.script_root)
    menu = _MENUS.get(key)
    if menu is None:
        menu = _MENUS[key] = Markup(render_template("_nav.html"))
    return menu


# Stands for the reader's CSRF token in kept HTML; each reader's own is put in when the HTML is shown.
_CSRF_STANDIN = "kept-csrf-token-standin"


def kept_html(name: str, draw: Callable[[], str], *, depends_on: Iterable[str], key: object = ()) -> Markup:
    """HTML drawn once per change of the tables it reads (core.kept): a page's body, kept for its ``key`` and
    for the reader (account and role), their language and the campus day, so each reader gets what they were
    shown with their own forms' CSRF token. ``draw`` must show nothing that changes with the hour (an age, a
    countdown): that stays outside, drawn on every request."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")

    def drawn() -> str:
        own = g.pop(field, None)
        setattr(g, field, _CSRF_STANDIN)  # what generate_csrf() gives while this draws
        try:
            return str(draw())
        finally:
            g.pop(field, None)
            if own is not None:
                setattr(g, field, own)

    reader = (current_user.get_id(), getattr(current_user, "role", None))
    html = kept(name, drawn, depends_on=depends_on,
                key=(key, reader, str(get_locale()), campus_today(), request.script_root))
    return Markup(html.replace(_CSRF_STANDIN, generate_csrf()) if _CSRF_STANDIN in html else html)


def _is_private() -> bool:
    """A response for a signed-in user or an API token (entitlements name students and cards), other than
    the static files everyone gets alike."""
    endpoint = request.endpoint or ""
    if endpoint in ("static", "favicon") or endpoint.endswith(".static"):
        return False
    return current_user.is_authenticated or request.path.startswith(API_PREFIX)


def _csrf_failed(error: CSRFError):
    """A form sent with an expired or missing token, most often a page left open longer than the token lives:
    the form's page again, with what was typed and a fresh token, to check and send again."""
    if request.path.startswith(MACHINE_PREFIXES):
        return _api_error(error)
    notice = _("This page was open too long, so what you sent was not saved. Check it and send it again.")
    if request.files and any(upload.filename for upload in request.files.values()):
        notice += " " + _("Choose the photos or files again.")
    # Only for the signed-in user's own pages: the session cookie (SameSite=Lax) comes with no other site's
    # POST, and a browser's Origin naming another site is refused outright.
    origin = request.headers.get("Origin")
    if request.method == "POST" and current_user.is_authenticated and (
            origin is None or origin.rstrip("/") == request.host_url.rstrip("/")):
        for url in (request.script_root + request.full_path, request.referrer):  # where it posts, else where it was
            again = page_again(url, notice=notice, status=400)
            if again is not None:
                return again
    return render_template("errors/error.html", code=400, error=error, message=notice,
                           title=_("The page was open too long")), 400


def _error_page(code: int):
    def handler(error):
        if request.path.startswith(API_PREFIX):
            return _api_error(error)
        # abort(400, description=…) says what was wrong (e.g. a date out of range); Werkzeug's default does not
        said = getattr(error, "description", None)
        message = said if said and said != type(error).description else None
        return render_template("errors/error.html", code=code, error=error, message=message), code

    return handler


def _api_error(error: HTTPException):
    if not request.path.startswith(API_PREFIX):
        return error
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]  # Allow…
    return jsonify(error=error.description), error.code, headers
