from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.clock import utcnow
from ..core.types import UTCDateTime
from ..extensions import db


class AuditEntry(db.Model):
    """One change. ``details`` holds the facts; the text is rendered per language."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # Kept as text too: the command line has no user, and accounts get renamed.
    actor_name: Mapped[str] = mapped_column(sa.String(120))
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    student_id: Mapped[int | None] = mapped_column(sa.ForeignKey("students.id"), index=True)
    room_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    actor = relationship("User")
    student = relationship("Student")
    room = relationship("Room")
