"""Who may open a view, by role. What a user may see inside it is each feature's own rule."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from .enums import Role


def roles_required(*roles: Role):
    """Sign-in required, and one of ``roles``; anyone else gets 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


staff_required = roles_required(Role.STAFF)
