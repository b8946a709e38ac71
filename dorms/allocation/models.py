"""Allocation runs and their proposals, as stored."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit import describe as audit_describe
from ..core.clock import utcnow
from ..core.database import enum_column_type
from ..core.enums import LabelledEnum
from ..core.types import UTCDateTime
from ..extensions import db


class RunMode(LabelledEnum):
    INTAKE = "intake"  # place students without a bed; residents stay
    REALLOCATION = "reallocation"  # also move residents who must (closed room, other gender), and few others
    REQUESTS = "requests"  # meet open swap and move requests; nobody else moves

    @classmethod
    def _labels(cls):
        return {cls.INTAKE: _l("Intake: place students without a bed"),
                cls.REALLOCATION: _l("Reallocation: residents may move too"),
                cls.REQUESTS: _l("Requests round: swap and move requests")}


class RunStatus(LabelledEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # a proposal waits
    FAILED = "failed"
    CANCELLED = "cancelled"
    APPLIED = "applied"
    ROLLED_BACK = "rolled_back"

    @classmethod
    def _labels(cls):
        return {cls.QUEUED: _l("Queued"), cls.RUNNING: _l("Running"), cls.DONE: _l("Proposal ready"),
                cls.FAILED: _l("Failed"), cls.CANCELLED: _l("Cancelled"), cls.APPLIED: _l("Applied"),
                cls.ROLLED_BACK: _l("Rolled back")}


class AllocationRun(db.Model):
    __tablename__ = "allocation_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    mode: Mapped[RunMode] = mapped_column(enum_column_type(RunMode, "run_mode"))
    status: Mapped[RunStatus] = mapped_column(enum_column_type(RunStatus, "run_status"), default=RunStatus.QUEUED)
    building_ids: Mapped[list] = mapped_column(sa.JSON, default=list)  # empty: every building
    time_limit: Mapped[int] = mapped_column(default=60)
    weights: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # the objective's weights; missing: defaults
    locked_student_ids: Mapped[list] = mapped_column(sa.JSON, default=list)  # stay in their bed
    # Which students the run places or moves: {"grades": [2026], "colleges": [...], "classes": [...],
    # "students": [ids]}; each list given must match (empty: everyone). Students outside it stay where they are.
    student_scope: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # The only free beds the run may give (selection day's offer, its reserved beds left out); empty: any.
    bed_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    seed: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pid: Mapped[int | None] = mapped_column()
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id", ondelete="SET NULL"))  # the job solving it
    stage: Mapped[str] = mapped_column(sa.String(32), default="")
    progress: Mapped[float] = mapped_column(default=0.0)
    # Who lived where when the run read the campus: {student id: bed id}. Apply refuses if it changed.
    snapshot: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    objective: Mapped[int | None] = mapped_column()
    greedy_objective: Mapped[int | None] = mapped_column()
    current_objective: Mapped[int | None] = mapped_column()
    bound: Mapped[int | None] = mapped_column()
    terms: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # The same terms for the greedy baseline and for everyone staying where they are: {"greedy": {...}, "current": {...}},
    # and the unweighted counts of all three: "counts": {"proposal": {...}, "greedy": {...}, "current": {...}}.
    baseline_terms: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    explanations: Mapped[list] = mapped_column(sa.JSON, default=list)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    # A requests round: {request id: outcome} as proposed; the requests learn it when applied.
    request_outcomes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    applied_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    rolled_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by = relationship("User", foreign_keys=[created_by_id])
    job = relationship("Job")
    moves: Mapped[list[AllocationMove]] = relationship(back_populates="run", cascade="all, delete-orphan",
                                                      order_by="AllocationMove.id")

    @property
    def is_active(self) -> bool:
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)

    def in_student_scope(self, student) -> bool:
        scope = self.student_scope or {}
        return ((not scope.get("students") or student.id in scope["students"])
                and (not scope.get("grades") or student.grade in scope["grades"])
                and (not scope.get("colleges") or student.college in scope["colleges"])
                and (not scope.get("classes") or student.class_name in scope["classes"]))

    @property
    def gap(self) -> float | None:
        """How far the objective may be above the best possible (0.25: at most 25% above the bound)."""
        if self.objective is None or self.bound is None:
            return None
        return (self.objective - self.bound) / self.objective if self.objective else 0.0


class AllocationMove(db.Model):
    """One line of a proposal: a student goes from a bed (or none) to a bed (or none)."""

    __tablename__ = "allocation_moves"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("allocation_runs.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("students.id"), index=True)
    from_bed_id: Mapped[int | None] = mapped_column(sa.ForeignKey("beds.id"))
    to_bed_id: Mapped[int | None] = mapped_column(sa.ForeignKey("beds.id"))
    reason: Mapped[str] = mapped_column(sa.String(32))
    # What the new room gives them, for the reason column: {"classmates": n, "roommate": bool, "preference": rank}.
    notes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # Set when applied: the assignment this move started, so a rollback can find and undo it.
    assignment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assignments.id"))

    run: Mapped[AllocationRun] = relationship(back_populates="moves")
    student = relationship("Student")
    from_bed = relationship("Bed", foreign_keys=[from_bed_id])
    to_bed = relationship("Bed", foreign_keys=[to_bed_id])


class MoveReason(LabelledEnum):
    NEW = "new"  # had no bed
    ROOM_CLOSED = "room_closed"
    ROOM_GENDER = "room_gender"
    INACTIVE = "inactive"  # graduated, withdrawn or suspended: the bed is freed
    IMPROVED = "improved"  # moved to keep a class or request together
    REQUESTED = "requested"  # their swap or move request was granted
    UNPLACED = "unplaced"  # no bed could be found

    @classmethod
    def _labels(cls):
        return {
            cls.NEW: _l("New: had no bed"),
            cls.ROOM_CLOSED: _l("Forced: the room is closed"),
            cls.ROOM_GENDER: _l("Forced: the room is now for the other gender"),
            cls.INACTIVE: _l("Not active: the bed is freed"),
            cls.IMPROVED: _l("Moved to keep a class or request together"),
            cls.REQUESTED: _l("Request granted"),
            cls.UNPLACED: _l("No bed could be found"),
        }


# The objective's terms (problem.score), as people read them.
TERM_LABELS = {
    "unassigned": _l("Students without a bed"),
    "moves": _l("Residents moved"),
    "broken_pairs": _l("Roommate requests not met"),
    "class_room": _l("Classes split over rooms"),
    "class_building": _l("Classes split over buildings"),
    "preference": _l("Building preferences missed"),
    "lifestyle": _l("Mixed sleep schedules"),
}

# A running run's stage (AllocationRun.stage, as the solver reports it).
STAGE_LABELS = {
    "reading": _l("Reading the campus"),
    "greedy": _l("First placement"),
    "buildings": _l("Choosing buildings"),
    "rooms": _l("Choosing rooms"),
    "improving": _l("Improving"),
    "done": _l("Done"),
}

SCOPE_LABELS = {"grades": _l("entered in"), "colleges": _l("colleges"), "classes": _l("classes")}

# A requests round's figures.
ROUND_LABELS = {
    "requests": _l("Requests in the round"),
    "granted": _l("Requests granted"),
    "students_moved": _l("Students moved"),
    "pairs_only_requests": _l("Requests a swaps-in-pairs method would have granted"),
    "pairs_only_students": _l("Students a swaps-in-pairs method would have moved"),
    "trades": _l("Trades (cycles and chains)"),
    "longest_trade": _l("Students in the longest trade"),
}


# The audit log shows these stored words by their labels.
audit_describe.register_values(RunMode, ("allocation.create", "mode"))
