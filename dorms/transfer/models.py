"""Files a transfer job reads or writes: an upload waiting for its import job, or an export's result."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..core.clock import utcnow
from ..core.types import UTCDateTime
from ..extensions import db


class TransferFile(db.Model):
    """An import's upload (removed when its job ends) or an export's file (kept until ``expires_at``).

    Kept in the database so that a worker on another machine reads what the web server received; uploads are
    bounded by the request size (MAX_CONTENT_LENGTH) and the import's row limits."""

    __tablename__ = "transfer_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(16))  # "upload" or "export"
    filename: Mapped[str] = mapped_column(sa.String(255))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # exports only

    __table_args__ = (sa.UniqueConstraint("job_id", "purpose", name="uq_transfer_files_job_purpose"),)
