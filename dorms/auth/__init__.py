"""Accounts, roles and signing in."""
from __future__ import annotations

from flask import Flask, redirect, request, url_for
from flask_login import current_user
from flask_babel import lazy_gettext as _l

from ..core.forms import row_id
from ..extensions import db, login_manager
from .models import User


def init_app(app: Flask) -> None:
    """Sessions find their user here; a page that needs a sign-in sends people to ours."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "warning"
    login_manager.user_loader(_load_user)
    app.before_request(_one_time_password_must_change)


# Where an account signed in with a one-time password may go before it chooses its own.
_WHILE_CHANGING = frozenset({"auth.change_password", "auth.logout", "i18n.set_language", "static", "favicon"})


def _one_time_password_must_change():
    """A password the housing office set (or generated) works once: the account chooses its own first."""
    # The password page's own styles and scripts (ours and Bootstrap's, "bootstrap.static") load too.
    endpoint = request.endpoint or ""
    if (endpoint not in _WHILE_CHANGING and not endpoint.endswith(".static")
            and not request.path.startswith(("/api/", "/iclock/"))
            and current_user.is_authenticated and current_user.must_change_password):
        return redirect(url_for("auth.change_password"))
    return None


def _load_user(alternative_id: str) -> User | None:
    """The user a session or remember cookie names, if that sign-in still counts (see User.get_id)."""
    user_id = row_id(alternative_id.partition(":")[0])
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None or user.get_id() != alternative_id or not user.is_active:
        return None
    return user
