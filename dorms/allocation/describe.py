"""A run's findings (explain.py's codes) in the reader's language, with names and room codes."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..campus.models import Building, Room
from ..core.enums import Gender
from ..extensions import db
from ..solver.problem import DEFAULT_WEIGHTS, UNASSIGNED_COST
from ..students.models import Student
from .models import TERM_LABELS, AllocationRun, RunMode

MESSAGES = {
    "short_beds": _l("%(students)d %(gender)s students but only %(beds)d beds that can take them: "
                     "%(missing)d cannot be placed."),
    "short_accessible": _l("%(students)d %(gender)s students need an accessible room but only %(beds)d "
                           "accessible beds can take them."),
    "locked_no_room": _l("%(student)s is kept in place but has no bed in the run's buildings."),
    "locked_closed": _l("%(student)s is kept in room %(room)s, which is closed."),
    "locked_gender": _l("%(student)s is kept in room %(room)s, which is now for %(gender)s students."),
    "locked_over": _l("%(students)d students are kept in room %(room)s, which has %(beds)d beds."),
    "locked_mixed": _l("Students of both genders are kept in room %(room)s."),
    "locked_avoid": _l("%(student)s and %(other)s are both kept in room %(room)s, but one asked never to room "
                       "with the other."),
}


def describe_findings(findings: list) -> list[str]:
    """Stored findings as sentences; students and rooms are looked up once for all of them."""
    coded = [f for f in findings if isinstance(f, dict) and f.get("code") in MESSAGES]
    student_ids = {int(f["params"][k]) for f in coded for k in ("student", "other") if k in f["params"]}
    room_ids = {int(f["params"]["room"]) for f in coded if "room" in f["params"]}
    students = {str(s.id): s.display for s in db.session.scalars(sa.select(Student).where(Student.id.in_(student_ids)))}
    rooms = {str(r.id): r.code for r in db.session.scalars(sa.select(Room).where(Room.id.in_(room_ids)))}
    sentences = []
    for finding in findings:
        if not isinstance(finding, dict) or finding.get("code") not in MESSAGES:
            sentences.append(str(finding))  # a run stored before findings had codes
            continue
        params = dict(finding["params"])
        for key in ("student", "other"):
            if key in params:
                params[key] = students.get(str(params[key]), params[key])
        if "room" in params:
            params["room"] = rooms.get(str(params["room"]), params["room"])
        if "gender" in params:
            params["gender"] = Gender(params["gender"]).label.lower()
        sentences.append(str(MESSAGES[finding["code"]]) % params)
    return sentences


# Which weight multiplies each term of the objective (problem.score).
TERM_WEIGHTS = {"moves": "move", "broken_pairs": "pair", "class_room": "class_room",
                "class_building": "class_building", "preference": "preference", "lifestyle": "lifestyle"}


@dataclass(frozen=True)
class Figure:
    """One line of the proposal's table: how many (students, moves, rooms), not the weighted points."""

    label: str
    proposal: int | None
    greedy: int | None
    now: int | None
    weight: int


def _weight(run: AllocationRun, term: str) -> int:
    if term == "unassigned":
        return UNASSIGNED_COST
    name = TERM_WEIGHTS.get(term, term)
    return int({**DEFAULT_WEIGHTS, **(run.weights or {})}.get(name, 1))


def _counts(run: AllocationRun, which: str, terms: dict | None) -> dict:
    stored = (run.baseline_terms or {}).get("counts", {}).get(which)
    if stored is not None:
        return stored
    # A run stored before counts were kept: each term is its count times its weight.
    return {term: value // _weight(run, term) if _weight(run, term) else None
            for term, value in (terms or {}).items()}


def run_figures(run: AllocationRun) -> list[Figure]:
    """The objective's terms of an allocation run as counts, for this proposal, greedy and now."""
    baseline = run.baseline_terms or {}
    proposal = _counts(run, "proposal", run.terms)
    greedy = _counts(run, "greedy", baseline.get("greedy"))
    now = _counts(run, "current", baseline.get("current")) if baseline.get("current") is not None else {}
    return [Figure(str(TERM_LABELS.get(term, term)), proposal.get(term), greedy.get(term), now.get(term),
                   _weight(run, term))
            for term in run.terms or {}]


def run_weights(run: AllocationRun) -> list[tuple[str, int]]:
    """The weights a run changed from the defaults, named as the terms they weigh."""
    by_weight = {weight: term for term, weight in TERM_WEIGHTS.items()}
    return [(str(TERM_LABELS.get(by_weight.get(name, ""), name)), value) for name, value in (run.weights or {}).items()]


def run_scope(run: AllocationRun) -> str:
    """What a run covers: the whole campus or its buildings, by code."""
    if run.mode == RunMode.REQUESTS or not run.building_ids:
        return _("Scope: the whole campus")
    codes = db.session.scalars(sa.select(Building.code).where(Building.id.in_(run.building_ids))
                               .order_by(Building.code)).all()
    return _("Scope: buildings %(codes)s", codes=", ".join(codes))
