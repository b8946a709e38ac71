"""The audit log: who changed what, when and why.

Every change calls ``audit.record(...)`` in the caller's transaction, so the entry commits or rolls back with it.
"""
from __future__ import annotations

from flask import has_request_context
from flask_login import current_user

from ..extensions import db
from .models import AuditEntry

SYSTEM_ACTOR = "system"


def current_actor():
    """The signed-in user, or None for the command line and background jobs."""
    if has_request_context() and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def record(action: str, *, student=None, room=None, reason: str = "", actor=None, **details) -> AuditEntry:
    actor = actor or current_actor()
    entry = AuditEntry(
        action=action,
        actor=actor,
        actor_name=actor.username if actor else SYSTEM_ACTOR,
        student=student,
        room=room,
        reason=reason or "",
        details=details,
    )
    db.session.add(entry)
    return entry
