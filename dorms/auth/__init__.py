"""Accounts, roles and signing in."""
from __future__ import annotations

from flask import Flask
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


def _load_user(alternative_id: str) -> User | None:
    """The user a session or remember cookie names, if that sign-in still counts (see User.get_id)."""
    user_id = row_id(alternative_id.partition(":")[0])
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None or user.get_id() != alternative_id or not user.is_active:
        return None
    return user
