"""Signing in with campus credentials.

Find the user's entry with the service account (the username escaped into the filter), then bind
as that entry with the password given: the directory checks the password, we never see a hash.
Directory groups decide the role on every sign-in; the local account is created or linked then.
"""
from __future__ import annotations

import logging

import ldap3
import sqlalchemy as sa
from ldap3.utils.conv import escape_filter_chars

from .. import audit
from ..auth.backends import find_user, normalise_username
from ..auth.models import User
from ..core.enums import Role
from ..extensions import db
from ..students.models import Student
from . import client
from .settings import DirectorySettings

log = logging.getLogger(__name__)


class LdapBackend:
    def authenticate(self, username: str, password: str) -> User | None:
        username = normalise_username(username)
        if not username or not password:  # an empty password would be an unauthenticated bind
            return None
        settings = DirectorySettings.from_config()
        try:
            return _sign_in(settings, username, password)
        except client.DirectoryError as error:
            log.warning("directory sign-in for %r failed: %s", username, error)
            return None


def _sign_in(settings: DirectorySettings, username: str, password: str) -> User | None:
    attribute_map = settings.attributes
    wanted = sorted({attribute_map.username, *attribute_map.fields["student_number"],
                     *attribute_map.counselors.get("name", []), *attribute_map.fields["name"]})
    service = client.connect(settings)
    try:
        entry = client.find_one(service, settings.user_base_dn, client.user_filter(settings.user_filter, username),
                                wanted)
        if entry is None:
            return None
        try:
            client.connect(settings, entry.dn, password).unbind()
        except client.BindRefused:
            return None
        role = _role(service, settings, entry.dn)
    finally:
        service.unbind()
    return _local_user(settings, username, entry, role)


def _role(connection: ldap3.Connection, settings: DirectorySettings, dn: str) -> Role | None:
    for group, role in ((settings.staff_group, Role.STAFF), (settings.counselor_group, Role.COUNSELOR),
                        (settings.student_group, Role.STUDENT)):
        if group and _is_member(connection, group, dn):
            return role
    # Without a student group, anyone under the student subtree is a student.
    if not settings.student_group and dn.lower().endswith(settings.base_dn.lower()):
        return Role.STUDENT
    return None


def _is_member(connection: ldap3.Connection, group: str, dn: str) -> bool:
    escaped = escape_filter_chars(dn)
    connection.search(group, f"(|(member={escaped})(uniqueMember={escaped}))", search_scope=ldap3.BASE,
                      attributes=["cn"])
    return any(item.get("type") == "searchResEntry" for item in connection.response or [])


def _local_user(settings: DirectorySettings, username: str, entry: client.Entry, role: Role | None) -> User | None:
    """The account for this directory user: found, linked or created. None when it may not sign in."""
    if role is None:
        return None
    names = settings.attributes.fields["name"]
    display_name = next((entry.attributes[a.lower()][0] for a in names if entry.attributes.get(a.lower())), username)
    student = None
    if role == Role.STUDENT:
        numbers = [entry.attributes[a.lower()][0] for a in settings.attributes.fields["student_number"]
                   if entry.attributes.get(a.lower())]
        student = db.session.scalar(sa.select(Student).where(Student.student_number == numbers[0])) \
            if numbers else None
        if student is None:
            return None  # not synced yet: a student account needs its student record
    user = find_user(username)
    if user is None and student is not None:
        user = db.session.scalar(sa.select(User).where(User.student_id == student.id))
    if user is not None and user.auth_source == "local" and user.password_hash:
        # A local account with its own password keeps it: a directory entry of the same name must
        # not take it over (the first admin, say).
        return None
    if user is None:
        user = User(username=username, role=role, student=student, display_name=display_name, auth_source="ldap")
        db.session.add(user)
        db.session.flush()
        audit.record("user.create", student=student, username=username, role=role.value, source="ldap", actor=user)
    elif user.role != role or user.auth_source != "ldap" or user.student_id != (student.id if student else None):
        audit.record("user.link", student=student, username=username, role=role.value, actor=user)
        user.role, user.auth_source, user.student = role, "ldap", student
    user.display_name = display_name
    db.session.flush()
    return user
