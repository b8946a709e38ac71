"""What waits for the signed-in user, for the top of their home page: a swap offer to answer, a condition
report to acknowledge, requests to decide, tickets to handle. Each role's counts come from one query
(scalar subqueries), so the home page stays cheap however much waits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import url_for
from flask_babel import ngettext

from ..access.models import Permission, PermissionStatus
from ..checkin.models import CheckIn, CheckOut, ReportItem, checked_out
from ..core.clock import utcnow
from ..core.kept import kept
from ..core.roles import sees_everything
from ..extensions import db
from ..facilities.models import OPEN_REPAIR_STATUSES, RepairTicket
from ..residence.models import Assignment
from ..roomchange.models import ChangeStatus, RoomChangeRequest
from ..students.models import Student
from ..students.scopes import visible_students_clause
from ..violations.models import Violation, ViolationStatus

RECENT = timedelta(days=7)  # a decision this recent is news on the student's home page
DECIDED_CHANGES = (ChangeStatus.GRANTED, ChangeStatus.NOT_GRANTED, ChangeStatus.DECLINED)


@dataclass(frozen=True)
class Waiting:
    """One line of the block: what, how many, where to act on it; ``key`` names it for tests and styles."""

    key: str
    text: str
    count: int
    url: str
    urgent: bool = True  # something to do (not only news)


def _count(query) -> sa.ScalarSelect:
    """The rows of ``query`` counted (a count already made is taken as it is)."""
    if isinstance(query, sa.ScalarSelect):
        return query
    # maintain_column_froms: the FROM stays the query's table even where only EXISTS clauses name it.
    return query.with_only_columns(sa.func.count(), maintain_column_froms=True).scalar_subquery()


def _counts(**queries) -> dict[str, int]:
    row = db.session.execute(sa.select(*(_count(q).label(name) for name, q in queries.items()))).one()
    return dict(row._mapping)


def _open_check_in(*where):
    """Check-ins not yet ended by a check-out."""
    return sa.select(CheckIn.id).where(~checked_out(), *where)


def for_student(student: Student | None) -> list[Waiting]:
    if student is None:
        return []
    now = utcnow()
    counts = _counts(
        swaps=sa.select(RoomChangeRequest.id).where(RoomChangeRequest.partner_id == student.id,
                                                    RoomChangeRequest.status == ChangeStatus.AWAITING_PARTNER),
        report=_open_check_in(CheckIn.assignment_id.in_(sa.select(Assignment.id).where(
            Assignment.student_id == student.id)), CheckIn.acknowledged_at.is_(None), CheckIn.ack_due_at > now),
        decided=sa.select(Permission.id).where(Permission.student_id == student.id,
                                               Permission.status != PermissionStatus.PENDING,
                                               Permission.decided_at >= now - RECENT),
        pending=sa.select(Permission.id).where(Permission.student_id == student.id,
                                               Permission.status == PermissionStatus.PENDING),
        change=sa.select(RoomChangeRequest.id).where(RoomChangeRequest.student_id == student.id,
                                                     RoomChangeRequest.status.in_(DECIDED_CHANGES),
                                                     RoomChangeRequest.updated_at >= now - RECENT),
    )
    return [line for line in (
        Waiting("swap-offers", ngettext("%(num)d swap offer to answer", "%(num)d swap offers to answer",
                                        counts["swaps"]), counts["swaps"], url_for("roomchange.mine")),
        Waiting("condition-report", ngettext("%(num)d room condition report to acknowledge or dispute",
                                             "%(num)d room condition reports to acknowledge or dispute",
                                             counts["report"]), counts["report"], url_for("checkin.mine")),
        Waiting("decided-requests", ngettext("%(num)d late or overnight request decided this week",
                                             "%(num)d late or overnight requests decided this week",
                                             counts["decided"]), counts["decided"],
                url_for("curfew.my_requests"), urgent=False),
        Waiting("pending-requests", ngettext("%(num)d late or overnight request waiting for your counselor",
                                             "%(num)d late or overnight requests waiting for your counselor",
                                             counts["pending"]), counts["pending"],
                url_for("curfew.my_requests"), urgent=False),
        Waiting("decided-change", ngettext("%(num)d room change request decided this week",
                                           "%(num)d room change requests decided this week", counts["change"]),
                counts["change"], url_for("roomchange.mine"), urgent=False),
    ) if line.count]


def _requests_to_decide(user):
    return (sa.select(Permission.id).join(Student, Student.id == Permission.student_id)
            .where(Permission.status == PermissionStatus.PENDING, visible_students_clause(user)))


def _requests_line(count: int) -> Waiting:
    return Waiting("requests-to-decide", ngettext("%(num)d late or overnight request to decide",
                                                  "%(num)d late or overnight requests to decide", count),
                   count, url_for("curfew.review"))


def for_counselor(user, alerts: int = 0) -> list[Waiting]:
    """``alerts``: last night's curfew alerts, which the counselor's home page has counted already."""
    counts = _counts(requests=_requests_to_decide(user))
    return [line for line in (
        _requests_line(counts["requests"]),
        Waiting("curfew-alerts", ngettext("%(num)d curfew alert from last night",
                                          "%(num)d curfew alerts from last night", alerts), alerts, "#last-night"),
    ) if line.count]


def _staff_counts(user) -> dict[str, int]:
    return _counts(
        tickets=sa.select(RepairTicket.id).where(RepairTicket.status.in_(OPEN_REPAIR_STATUSES)),
        disputes=_disputed_check_ins(),
        appeals=sa.select(Violation.id).where(Violation.status == ViolationStatus.APPEALED),
        requests=_requests_to_decide(user),
    )


def _disputed_check_ins() -> sa.ScalarSelect:
    """Open check-ins with an item disputed and not yet answered, counted from the disputed items (a partial
    index holds just those) rather than from every check-in."""
    return (sa.select(sa.func.count(sa.distinct(ReportItem.check_in_id)))
            .where(ReportItem.disputed_at.is_not(None), ReportItem.resolved_at.is_(None),
                   ~sa.exists().where(CheckOut.check_in_id == ReportItem.check_in_id))
            .scalar_subquery())


# What the office's counts read: kept until one of these is written (a ticket moved, a request decided…).
STAFF_WAITING_TABLES = ("repair_tickets", "check_ins", "check_outs", "check_in_report_items", "violations",
                        "access_permissions", "students", "counselor_scopes")


def for_staff(user) -> list[Waiting]:
    counts = kept("pages.waiting_for_staff", lambda: _staff_counts(user), depends_on=STAFF_WAITING_TABLES,
                  key=("all",) if sees_everything(user) else ("user", user.id))
    return [line for line in (
        Waiting("repair-tickets", ngettext("%(num)d repair ticket to handle", "%(num)d repair tickets to handle",
                                           counts["tickets"]), counts["tickets"], url_for("facilities.repairs_index")),
        Waiting("disputes", ngettext("%(num)d disputed condition report to answer",
                                     "%(num)d disputed condition reports to answer", counts["disputes"]),
                counts["disputes"], url_for("checkin.reports", state="disputed")),
        Waiting("appeals", ngettext("%(num)d violation appeal to decide", "%(num)d violation appeals to decide",
                                    counts["appeals"]), counts["appeals"],
                url_for("violations.index", status=ViolationStatus.APPEALED.value)),
        _requests_line(counts["requests"]),
    ) if line.count]
