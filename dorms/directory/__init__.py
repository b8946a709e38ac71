"""The campus directory: syncing students and counselors over LDAP, and signing in with campus credentials."""
from __future__ import annotations

from flask import Flask

from ..auth import backends
from .settings import from_environment
from .signin import LdapBackend


def init_app(app: Flask) -> None:
    """Settings the app's config leaves unset come from DORMS_LDAP_* (or their defaults), so the environment
    stays below instance/config.py and create_app's own config; campus sign-in joins the sign-in backends."""
    for key, value in from_environment().items():
        app.config.setdefault(key, value)
    backends.register("ldap", LdapBackend())
