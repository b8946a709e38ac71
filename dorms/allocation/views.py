from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import joinedload

from ..campus import services as campus
from ..campus.models import Bed, Room
from ..core.forms import confirmed, options, page_number, submit, words
from ..core.roles import staff_required
from ..extensions import db
from ..roomchange import requests_round
from . import services
from ..solver.problem import UNASSIGNED_COST
from .describe import describe_findings, run_figures, run_scope, run_weights
from .forms import RunForm
from .models import (
    ROUND_LABELS,
    SCOPE_LABELS,
    STAGE_LABELS,
    TERM_LABELS,
    AllocationMove,
    AllocationRun,
    MoveReason,
    RunMode,
)

bp = Blueprint("allocation", __name__, url_prefix="/allocation")
MOVES_PER_PAGE = 200


def _run_or_404(run_id: int) -> AllocationRun:
    return db.session.get(AllocationRun, run_id) or abort(404)


@bp.get("/")
@staff_required
def index():
    form = RunForm()
    form.buildings.choices = options((b.id, f"{b.code} {b.name}") for b in campus.buildings())
    runs = db.session.scalars(sa.select(AllocationRun).order_by(AllocationRun.id.desc()).limit(50)).all()
    return render_template("allocation/index.html", form=form, runs=runs)


@bp.post("/runs")
@staff_required
def create():
    form = RunForm()
    form.buildings.choices = options((b.id, f"{b.code} {b.name}") for b in campus.buildings())
    created = submit(form, lambda: services.create_run(
        mode=RunMode(form.mode.data), building_ids=form.buildings.data or [], time_limit=form.time_limit.data,
        weights=form.weights(), locked_numbers=form.locked_numbers(), student_scope=form.student_scope()),
        "")  # the run's page says how it goes
    if not created:
        return redirect(url_for("allocation.index"))
    _start(created.result)
    return redirect(url_for("allocation.run", run_id=created.result.id))


def _start(run: AllocationRun) -> None:
    services.start_job(run)
    db.session.commit()


@bp.get("/runs/<int:run_id>")
@staff_required
def run(run_id: int):
    run = _run_or_404(run_id)
    page = page_number(request.args)
    moves = db.session.scalars(
        sa.select(AllocationMove).where(AllocationMove.run_id == run.id)
        .options(joinedload(AllocationMove.student),
                 joinedload(AllocationMove.from_bed).joinedload(Bed.room).joinedload(Room.building),
                 joinedload(AllocationMove.to_bed).joinedload(Bed.room).joinedload(Room.building))
        .order_by(AllocationMove.id).limit(MOVES_PER_PAGE + 1).offset((page - 1) * MOVES_PER_PAGE)
    ).all()
    counts = dict(db.session.execute(
        sa.select(AllocationMove.reason, sa.func.count()).where(AllocationMove.run_id == run.id)
        .group_by(AllocationMove.reason)).all())
    return render_template("allocation/run.html", run=run, moves=moves[:MOVES_PER_PAGE], page=page,
                           has_next=len(moves) > MOVES_PER_PAGE, counts=counts, reasons=MoveReason,
                           term_labels=ROUND_LABELS if run.mode == RunMode.REQUESTS else TERM_LABELS,
                           outcomes=requests_round.proposed_outcomes(run.request_outcomes or {}),
                           findings=describe_findings(run.explanations or []),
                           locked=services.locked_numbers(run), scope_labels=SCOPE_LABELS,
                           figures=run_figures(run) if run.objective is not None else [], scope=run_scope(run),
                           weights=run_weights(run), stage_labels=STAGE_LABELS, unassigned_cost=UNASSIGNED_COST,
                           apply_sentence=apply_sentence(run), rollback_sentence=rollback_sentence(run))


def _act(run_id: int, action, done_message: str):
    run = _run_or_404(run_id)
    submit(None, lambda: action(run), lambda result: done_message.format(result=result))
    return redirect(url_for("allocation.run", run_id=run_id))


@bp.post("/runs/<int:run_id>/rerun")
@staff_required
def rerun(run_id: int):
    # The run page sends its lock list, edited, plus students ticked in the proposal.
    locked = None
    if "locked" in request.form:
        locked = words(request.form["locked"]) + request.form.getlist("lock")
    again = submit(None, lambda: services.rerun(_run_or_404(run_id), locked=locked), "")
    if not again:
        return redirect(url_for("allocation.run", run_id=run_id))
    _start(again.result)
    return redirect(url_for("allocation.run", run_id=again.result.id))


@bp.post("/runs/<int:run_id>/cancel")
@staff_required
def cancel(run_id: int):
    return _act(run_id, services.cancel_run, _("The run was cancelled."))


def apply_sentence(run: AllocationRun) -> str:
    return ngettext("%(num)d student changes bed as listed below.",
                    "%(num)d students change bed as listed below.", services.bed_changes(run))


def rollback_sentence(run: AllocationRun) -> str:
    return ngettext("%(num)d student goes back to the bed they had before this run.",
                    "%(num)d students go back to the beds they had before this run.", services.bed_changes(run))


@bp.post("/runs/<int:run_id>/apply")
@staff_required
def apply(run_id: int):
    if not confirmed(request.form, apply_sentence(_run_or_404(run_id))):
        return redirect(url_for("allocation.run", run_id=run_id))
    return _act(run_id, services.apply_run, _("Applied: {result} students changed bed."))


@bp.post("/runs/<int:run_id>/rollback")
@staff_required
def rollback(run_id: int):
    if not confirmed(request.form, rollback_sentence(_run_or_404(run_id))):
        return redirect(url_for("allocation.run", run_id=run_id))
    return _act(run_id, services.rollback_run, _("Rolled back: {result} students are back where they were."))
