from __future__ import annotations

import functools
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from ..core.clock import utcnow
from ..core.database import enum_column_type
from ..campus.models import Building, ManagedBuilding
from ..core.enums import Role
from ..core.roles import sees_everything
from ..core.types import UTCDateTime
from ..extensions import db
from ..students.models import CounselorScope, Student


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        # A student account always points at its student record, and only it does.
        sa.CheckConstraint(
            "(role = 'student') = (student_id IS NOT NULL)", name="student_link"
        ),
        # Target of managed_buildings' composite key: only a building manager's account manages buildings.
        sa.UniqueConstraint("id", "role", name="uq_users_id_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_column_type(Role, "role"))
    student_id: Mapped[int | None] = mapped_column(sa.ForeignKey("students.id"), unique=True)
    # Which backend authenticates this account: "local" now, "ldap" with the directory.
    auth_source: Mapped[str] = mapped_column(sa.String(16), default="local")
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of the id a session and a "keep me signed in" cookie carry (get_id): raising it turns every
    # earlier sign-in away, on sign-out, a password change or deactivation.
    session_version: Mapped[int] = mapped_column(default=1)
    # Set when the housing office gives the account a one-time password: the next sign-in must change it.
    must_change_password: Mapped[bool] = mapped_column(default=False)

    student: Mapped[Student | None] = relationship()
    scopes: Mapped[list[CounselorScope]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    managed: Mapped[list[ManagedBuilding]] = relationship(cascade="all, delete-orphan", passive_deletes=True,
                                                          order_by=ManagedBuilding.building_id)

    @property
    def managed_buildings(self) -> list[Building]:
        return [m.building for m in self.managed]

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def get_id(self) -> str:
        """The alternative id Flask-Login keeps in the session and the remember cookie."""
        return f"{self.id}:{self.session_version}"

    def end_sessions(self) -> None:
        """Sign this account out everywhere: every session and remember cookie issued so far stops working."""
        self.session_version = (self.session_version or 1) + 1

    @validates("active")
    def _deactivating_ends_sessions(self, key: str, active: bool) -> bool:
        if self.active and not active:
            self.end_sessions()
        return active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            spend_a_password_check(password)
            return False
        return check_password_hash(self.password_hash, password)

    @property
    def is_staff(self) -> bool:
        return self.role == Role.STAFF

    @property
    def sees_everything(self) -> bool:
        """Staff and auditors read every page staff read (auditors change nothing)."""
        return sees_everything(self)

    @property
    def works_desk(self) -> bool:
        """Checks students in and out, answers disputes, reports faults: staff, and a building manager in
        their own buildings (the views check which)."""
        return self.role in (Role.STAFF, Role.BUILDING_MANAGER)

    @property
    def is_building_manager(self) -> bool:
        return self.role == Role.BUILDING_MANAGER

    @property
    def is_inspector(self) -> bool:
        return self.role == Role.INSPECTOR

    @property
    def is_repair_worker(self) -> bool:
        return self.role == Role.REPAIR_WORKER

    @property
    def is_auditor(self) -> bool:
        return self.role == Role.AUDITOR

    @property
    def is_counselor(self) -> bool:
        return self.role == Role.COUNSELOR

    @property
    def is_student(self) -> bool:
        return self.role == Role.STUDENT


@functools.cache
def _dummy_password_hash() -> str:
    """A hash no password matches, made once with the method real ones use."""
    return generate_password_hash(secrets.token_urlsafe(32))


def spend_a_password_check(password: str) -> None:
    """The cost of checking a password, for a sign-in without an account to check it against: an unknown
    username must take as long as a known one, or the answer's timing tells which accounts exist."""
    check_password_hash(_dummy_password_hash(), password)
