"""Pluggable authentication: each backend checks a username and password.

Local accounts (hashed passwords) come first; the campus directory adds an
LDAP backend. ``DORMS_AUTH_BACKENDS`` (config) lists which ones are tried.
"""
from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from .models import User, spend_a_password_check


class AuthBackend(Protocol):
    def authenticate(self, username: str, password: str) -> User | None: ...


class LocalBackend:
    """Accounts whose password hash is kept in our own database."""

    def authenticate(self, username: str, password: str) -> User | None:
        user = find_user(username)
        if user is None or user.auth_source != "local":
            spend_a_password_check(password)
            return None
        return user if user.check_password(password) else None


BACKENDS: dict[str, AuthBackend] = {"local": LocalBackend()}


def find_user(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == normalise_username(username)))


def normalise_username(username: str) -> str:
    return username.strip().lower()


def register(name: str, backend: AuthBackend) -> None:
    BACKENDS[name] = backend


def enabled_backends() -> list[str]:
    """DORMS_AUTH_BACKENDS when set; otherwise local accounts, then the directory once it is configured."""
    config = current_app.config
    return config.get("DORMS_AUTH_BACKENDS") or (["local", "ldap"] if config.get("LDAP_URL") else ["local"])


def authenticate(username: str, password: str) -> User | None:
    for name in enabled_backends():
        user = BACKENDS[name].authenticate(username, password)
        if user is not None and user.is_active:
            return user
    return None
