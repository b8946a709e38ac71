from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..core.database import enum_column_type
from ..core.enums import Gender, Lifestyle, RequestKind, StudentStatus
from ..core.types import UTCDateTime
from ..extensions import db


class Student(db.Model):
    __tablename__ = "students"
    # The student search (residence.residents) finds a number by its start and a name by any part. On PostgreSQL a
    # trigram index answers the name's "%part%" (pg_trgm, created by the migration); the number's index is below.
    __table_args__ = (
        sa.Index("ix_students_name_trigrams", "name", postgresql_using="gin",
                 postgresql_ops={"name": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    # The campus directory's stable identifier (entryUUID, eduPersonUniqueId), when it keys students.
    directory_id: Mapped[str | None] = mapped_column(sa.String(128), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), index=True)
    gender: Mapped[Gender] = mapped_column(enum_column_type(Gender, "gender"))
    college: Mapped[str] = mapped_column(sa.String(120), index=True, default="")
    major: Mapped[str] = mapped_column(sa.String(120), default="")
    class_name: Mapped[str] = mapped_column(sa.String(120), index=True, default="")
    grade: Mapped[int | None] = mapped_column()  # year of entry, e.g. 2026
    phone: Mapped[str] = mapped_column(sa.String(32), default="")
    status: Mapped[StudentStatus] = mapped_column(
        enum_column_type(StudentStatus, "student_status"), default=StudentStatus.ACTIVE
    )
    needs_accessible: Mapped[bool] = mapped_column(default=False)
    lifestyle: Mapped[Lifestyle | None] = mapped_column(enum_column_type(Lifestyle, "lifestyle"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def display(self) -> str:
        return f"{self.student_number} {self.name}"


# Student numbers in byte order (core.database.bytewise), whatever the database's collation: "starts with"
# becomes a range of this index, read in the order lists are shown in. SQLite's own index is in that order.
sa.Index("ix_students_number_bytewise", Student.student_number.collate("C")).ddl_if(dialect="postgresql")


class Term(db.Model):
    """An academic term (学期), e.g. 2026-2027-1."""

    __tablename__ = "terms"
    __table_args__ = (sa.CheckConstraint("ends_on > starts_on", name="dates_in_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    starts_on: Mapped[date]
    ends_on: Mapped[date]


class CounselorScope(db.Model):
    """One class or one whole college a counselor (辅导员) is responsible for."""

    __tablename__ = "counselor_scopes"
    __table_args__ = (
        sa.CheckConstraint(
            "(college IS NULL) <> (class_name IS NULL)", name="exactly_one_target"
        ),
        sa.UniqueConstraint("user_id", "college", "class_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    college: Mapped[str | None] = mapped_column(sa.String(120))
    class_name: Mapped[str | None] = mapped_column(sa.String(120))

    user = relationship("User", back_populates="scopes")


class RoommateRequest(db.Model):
    """A student's wish to room with someone (counted when mutual), or never to (binding).

    Kept as the number typed: a student's form saves a number that is no one's (``other_id`` empty),
    or a wish for the other gender, as it saves any other, so the form tells nobody who exists;
    the allocation ignores what cannot be met.
    """

    __tablename__ = "roommate_requests"
    __table_args__ = (
        sa.UniqueConstraint("student_id", "other_number"),
        sa.CheckConstraint("student_id <> other_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id"), index=True)
    other_number: Mapped[str] = mapped_column(sa.String(32))
    other_id: Mapped[int | None] = mapped_column(sa.ForeignKey("students.id"), index=True)
    kind: Mapped[RequestKind] = mapped_column(enum_column_type(RequestKind, "request_kind"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    student: Mapped[Student] = relationship(foreign_keys=[student_id])
    other: Mapped[Student | None] = relationship(foreign_keys=[other_id])


class BuildingPreference(db.Model):
    """A building a student would like to live in, ranked (1 = most wanted); the allocation weighs the rank."""

    __tablename__ = "building_preferences"
    __table_args__ = (
        sa.UniqueConstraint("student_id", "rank"),
        sa.UniqueConstraint("student_id", "building_id"),
        sa.CheckConstraint("rank >= 1", name="rank_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id", ondelete="CASCADE"), index=True)
    building_id: Mapped[int] = mapped_column(sa.ForeignKey("buildings.id"))
    rank: Mapped[int]

    building = relationship("Building")
