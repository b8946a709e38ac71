from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..campus.models import Bed, Building, Room
from ..core.types import UTCDateTime
from ..extensions import db
from ..students.models import Student, Term

CURRENT = sa.text("ended_at IS NULL")

# Reasons the app itself writes on assignments (and check-outs): stored as these words, shown translated.
CHECK_OUT_REASON = "check-out"
ROOM_CHANGE_REASON = "room change"
STORED_REASONS = {CHECK_OUT_REASON: _l("Check-out"), ROOM_CHANGE_REASON: _l("Room change")}


def reason_label(reason: str | None) -> str:
    """A stored reason as the reader reads it: the app's own words translated, what people typed as typed."""
    if reason is None:
        return ""
    return str(STORED_REASONS.get(reason, reason))


class Assignment(db.Model):
    """A student in a bed from ``started_at`` until ``ended_at`` (open: current).

    Nothing is overwritten: a move ends one assignment and starts another.
    The two partial unique indexes are the database's guarantee that a bed
    has at most one current occupant and a student at most one current bed.
    """

    __tablename__ = "assignments"
    __table_args__ = (
        sa.Index("uq_assignments_current_bed", "bed_id", unique=True,
                 sqlite_where=CURRENT, postgresql_where=CURRENT),
        sa.Index("uq_assignments_current_student", "student_id", unique=True,
                 sqlite_where=CURRENT, postgresql_where=CURRENT),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="dates_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id"), index=True)
    bed_id: Mapped[int] = mapped_column(sa.ForeignKey("beds.id"), index=True)
    term_id: Mapped[int | None] = mapped_column(sa.ForeignKey("terms.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    start_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    end_reason: Mapped[str | None] = mapped_column(sa.String(500))
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    ended_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    student: Mapped[Student] = relationship()
    bed: Mapped[Bed] = relationship()
    term: Mapped[Term | None] = relationship()
    started_by = relationship("User", foreign_keys=[started_by_id])
    ended_by = relationship("User", foreign_keys=[ended_by_id])

    @property
    def start_reason_label(self) -> str:
        return reason_label(self.start_reason)

    @property
    def end_reason_label(self) -> str:
        return reason_label(self.end_reason)

    @hybrid_property
    def is_current(self) -> bool:
        """No end yet; in a query, the SQL condition saying so."""
        return self.ended_at is None

    @is_current.inplace.expression
    @classmethod
    def _is_current_condition(cls) -> sa.ColumnElement[bool]:
        return cls.ended_at.is_(None)


def select_current_beds(*columns) -> sa.Select:
    """``SELECT columns`` over who lives where now: current assignments joined to their student, bed,
    room and building. Add the columns, filters and loader options the question needs.

    With ``Assignment.is_current``, the one place that says what "current" means and how a bed reaches
    its building."""
    return (sa.select(*columns).select_from(Assignment)
            .join(Student, Student.id == Assignment.student_id)
            .join(Bed, Bed.id == Assignment.bed_id)
            .join(Room, Room.id == Bed.room_id)
            .join(Building, Building.id == Room.building_id)
            .where(Assignment.is_current))


def current_assignment_alias():
    """An Assignment alias and the ON clause joining it to Student as their current one.

    For ``select(Student, current).outerjoin(current, on)``: everyone, with a bed or not.
    """
    current = sa.orm.aliased(Assignment)
    return current, sa.and_(current.student_id == Student.id, current.is_current)
