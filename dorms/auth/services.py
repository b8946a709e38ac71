"""Creating accounts (used by the CLI, the demo and tests), and finding a student's counselors."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import audit
from ..core.enums import Role
from ..core.errors import ServiceError
from ..extensions import db
from ..students.models import CounselorScope, Student
from .backends import find_user, normalise_username
from .models import User


def create_user(username: str, *, role: Role, password: str | None, display_name: str | None = None,
                student: Student | None = None, classes: list[str] = (), colleges: list[str] = ()) -> User:
    username = normalise_username(username)
    if not username:
        raise ServiceError(_("A username is required."))
    if find_user(username) is not None:
        raise ServiceError(_("The username %(username)s is taken.", username=username))
    if (role == Role.STUDENT) != (student is not None):
        raise ServiceError(_("A student account needs a student record, and only it may have one."))
    if password is not None:
        check_new_password(username, password)
    user = User(username=username, role=role, student=student,
                display_name=display_name or (student.name if student else username))
    if password is not None:
        user.set_password(password)
    user.scopes = [CounselorScope(class_name=c) for c in classes] + [CounselorScope(college=c) for c in colleges]
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", student=student, username=user.username, role=role.value,
                 classes=list(classes), colleges=list(colleges))
    return user


MIN_PASSWORD_LENGTH = 8


def check_new_password(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(_("A password needs at least %(count)d characters.", count=MIN_PASSWORD_LENGTH))
    if normalise_username(password) == normalise_username(username):
        raise ServiceError(_("A password must not be the username."))


def change_password(user: User, current_password: str, new_password: str) -> None:
    """A local account's own password change; every other sign-in of the account ends (a new session version)."""
    if user.auth_source != "local":
        raise ServiceError(_("Your password is the campus directory's: change it there."))
    if not user.check_password(current_password):
        raise ServiceError(_("The current password is wrong."))
    check_new_password(user.username, new_password)
    if new_password == current_password:
        raise ServiceError(_("Choose a new password, not the one you have."))
    user.set_password(new_password)
    user.must_change_password = False  # a one-time password the office set is replaced
    user.end_sessions()
    audit.record("user.password", actor=user, username=user.username)


def counselors_of(student: Student) -> list[User]:
    """The counselors whose classes or colleges include ``student``."""
    return list(db.session.scalars(
        sa.select(User).join(CounselorScope, CounselorScope.user_id == User.id)
        .where(sa.or_(CounselorScope.class_name == student.class_name, CounselorScope.college == student.college))
        .distinct().order_by(User.display_name)
    ))


# The student a session signed in as, put there at sign-in: selection day's waiting room answers a student from it
# without loading their account (the account still decides everything else the session may do).
SESSION_STUDENT = "student_id"


# --- one session at a time ----------------------------------------------------------------------------------

# Rules a feature above installs (selection day: a student taking part in an open event): a sign-in of an
# account one of them names ends every other session of that account, so one person holds one place.
_single_session_rules: list = []


def install_single_session_rule(rule) -> None:
    """``rule(user) -> bool``: whether a sign-in of ``user`` ends their other sessions now."""
    if rule not in _single_session_rules:
        _single_session_rules.append(rule)


def ends_other_sessions(user: User) -> bool:
    return any(rule(user) for rule in _single_session_rules)
