"""Who may open a view, by role. What a user may see inside it is each feature's own rule (the scopes).

Roles: staff (the housing office) read and change everything; an auditor reads what staff read and
changes nothing; a building manager (楼长/宿管员) runs their own buildings (rooms, residents, the
check-in desk, hygiene and repairs there); a hygiene inspector scores hygiene rounds and reads rooms; a
repair worker works through the tickets assigned to them; counselors see their students; students
themselves. README ("Roles") has the table of which pages each role opens.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_login import current_user, login_required

from .enums import Role

# Who reads everything staff read: the auditor too (never changing anything, see refuse_read_only_changes).
READS_EVERYTHING = frozenset({Role.STAFF, Role.AUDITOR})
READ_ONLY_ROLES = frozenset({Role.AUDITOR})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a read-only account may still post: its own session, password, language and notifications.
READ_ONLY_MAY_POST = frozenset({"auth.login", "auth.logout", "auth.change_password", "i18n.set_language",
                                "notifications.mark_read", "notifications.mark_all_read",
                                "notifications.preferences",
                                # Reading everything, auditors may have a large export prepared.
                                "transfer.export"})


def sees_everything(user) -> bool:
    """Staff and auditors see every student, room and record (scopes start from this)."""
    return user.role in READS_EVERYTHING


def may_change(user) -> bool:
    return user.role not in READ_ONLY_ROLES


def allowed_roles(roles, method: str) -> frozenset:
    """``roles`` a view names, widened to the auditor for reading wherever staff may read."""
    allowed = frozenset(roles)
    if Role.STAFF in allowed and method in SAFE_METHODS:
        allowed |= READ_ONLY_ROLES
    return allowed - READ_ONLY_ROLES if method not in SAFE_METHODS else allowed


def roles_required(*roles: Role):
    """Sign-in required, and one of ``roles``; anyone else gets 403. Where staff may read, so may an auditor."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in allowed_roles(roles, request.method):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


staff_required = roles_required(Role.STAFF)
# The pages a building manager shares with staff, scoped to their buildings by the feature's scopes.
building_staff_required = roles_required(Role.STAFF, Role.BUILDING_MANAGER)


def refuse_read_only_changes() -> None:
    """A before-request hook: a read-only account's change is refused wherever it is posted, whatever the
    view says (so a view that forgets to check cannot be the gap)."""
    if (request.method not in SAFE_METHODS and current_user.is_authenticated
            and not may_change(current_user) and request.endpoint not in READ_ONLY_MAY_POST):
        abort(403)
