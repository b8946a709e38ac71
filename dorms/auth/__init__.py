"""Accounts, roles and signing in."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from ..extensions import db, login_manager
from .models import User


def init_app(app: Flask) -> None:
    """Sessions find their user here; a page that needs a sign-in sends people to ours."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "warning"
    login_manager.user_loader(_load_user)


def _load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))
