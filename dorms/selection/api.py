"""The student's steps of a selection as JSON (README "Selection day"), for a campus app or a load tool: the same
services as the pages, signed in with the session cookie of ``POST /api/session``.

A POST must carry JSON (``Content-Type: application/json``): a page of another site cannot send that
without the browser asking this site first, so these need no CSRF token. Every refusal is a 409 (or 403,
404) with ``{"error": sentence}`` in the student's language.
"""
from __future__ import annotations

import logging
import re
import time
from datetime import datetime

from flask import Blueprint, abort, current_app, jsonify, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature
from werkzeug.http import parse_cookie

from ..auth import services as accounts
from ..core.clock import utcnow
from ..core.errors import ServiceError
from ..core.web import SECURITY_HEADERS
from ..extensions import csrf, db, limiter
from ..i18n import visitor_locale
from ..students.models import Student
from . import services, traffic
from .models import PickStatus, SelectionEvent

log = logging.getLogger(__name__)
bp = Blueprint("selection_api", __name__, url_prefix="/api/selection")
csrf.exempt(bp)
traffic.record_requests(bp)


def _claimer() -> str:
    return f"selection-claims:{current_user.get_id()}"


# One student's holds, confirmations and cancels, counted where the sign-in limits are (Redis in production):
# a script hammering the claim endpoint is slowed to a person's pace, across every worker and server.
claims_limited = limiter.limit(lambda: current_app.config["DORMS_SELECTION_CLAIM_LIMIT"], key_func=_claimer)


def _student_and_event(event_id: int) -> tuple[Student, SelectionEvent]:
    if not current_user.is_authenticated:
        abort(401)
    if current_user.student_id is None:
        abort(403)
    event = db.session.get(SelectionEvent, event_id)
    if event is None:
        abort(404)
    return db.session.get(Student, current_user.student_id), event


def _pick(pick) -> dict | None:
    if pick is None:
        return None
    bed = pick.bed
    return {"bed_id": bed.id, "bed": bed.code, "room": bed.room.code, "status": pick.status.value,
            "held_until": pick.held_until.isoformat() if pick.held_until else None}


@bp.get("/<int:event_id>/me")
def me(event_id: int):
    """The student's window and what they hold or confirmed."""
    student, event = _student_and_event(event_id)
    now = utcnow()
    taking_part = services.participant(event, student)
    refusal, place = services.standing(event, taking_part, now)
    return _me(event, now, opens_at=taking_part.opens_at if taking_part else None, refusal=refusal, place=place,
               picks=services.live_picks(event, student, now),
               changes_left=max(0, event.change_limit - taking_part.changes_used) if taking_part else 0)


class AnsweredInLine:
    """WSGI middleware: ``GET /api/selection/<event>/me`` of a student still waiting in the waiting room is answered
    from their signed session cookie, the kept event and Redis (services.still_in_line), before Flask dispatches the
    request: no account, no database, none of the hooks every request runs. When a cohort arrives in the same
    second, these answers are nearly everything the servers give, and each costs about what a static file served
    by the app does (bench/README.md, selection day). Anything else, or any doubt, goes on to the app: a failure
    here too, which the app then answers as it answers any."""

    PATH = re.compile(r"/api/selection/(\d{1,9})/me")

    def __init__(self, app, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ, start_response):
        match = self.PATH.fullmatch(environ.get("PATH_INFO", "")) if environ.get("REQUEST_METHOD") == "GET" else None
        answer = None
        if match:
            try:
                answer = self._answer(int(match[1]), environ)
            except Exception:  # never a 500 from here: the app decides
                log.exception("selection: a waiting student's /me could not be answered from the line")
        return (answer or self.wsgi_app)(environ, start_response)

    def _answer(self, event_id: int, environ):
        session = self._session(environ)
        student_id = session.get(accounts.SESSION_STUDENT)
        if not isinstance(student_id, int) or "_user_id" not in session:
            return None
        started = time.perf_counter()
        with self.app.app_context():
            now = utcnow()
            # Counted in the line's own round trip if the student waits, timed until the line is asked: the script
            # and the answer's formatting after it take a fraction of the first latency bucket (5 ms).
            count = traffic.counted(event_id, 200, (time.perf_counter() - started) * 1000, now.timestamp())
            waiting = services.still_in_line(event_id, student_id, now, count=count)
            if waiting is None:
                return None
            with force_locale(visitor_locale(session.get("locale"), environ.get("HTTP_ACCEPT_LANGUAGE", ""))):
                response = _me(waiting.event, now, opens_at=waiting.opens_at,
                               refusal=services.waiting_message(waiting.place), place=waiting.place, picks={},
                               changes_left=waiting.event.change_limit)
            response.headers.update(SECURITY_HEADERS)
            response.headers["Cache-Control"] = "no-store"
        return response

    def _session(self, environ) -> dict:
        """The signed session cookie's contents, as Flask would read them; empty when absent or not ours."""
        app = self.app
        cookie = parse_cookie(environ).get(app.config["SESSION_COOKIE_NAME"])
        serializer = app.session_interface.get_signing_serializer(app)
        if not cookie or serializer is None:
            return {}
        try:
            loaded = serializer.loads(cookie, max_age=int(app.permanent_session_lifetime.total_seconds()))
        except BadSignature:
            return {}
        return loaded if isinstance(loaded, dict) else {}


def _me(event, now: datetime, *, opens_at: datetime | None, refusal: str | None, place, picks: dict,
        changes_left: int):
    return jsonify(
        event=event.name, status=event.status.value, rehearsal=event.is_rehearsal,
        opens_at=opens_at.isoformat() if opens_at else None, closes_at=event.closes_at.isoformat(),
        now=now.isoformat(), may_act=refusal is None, refusal=refusal,
        waiting={"ahead": place.ahead, "seconds": place.seconds} if place and not place.admitted else None,
        held=_pick(picks.get(PickStatus.HELD)), confirmed=_pick(picks.get(PickStatus.CONFIRMED)),
        changes_left=changes_left,
    )


@bp.get("/<int:event_id>/beds")
def beds(event_id: int):
    """Where the student may choose now: free beds per building and floor; with ``?building=&floor=``, that
    floor's beds. Empty outside their window."""
    student, event = _student_and_event(event_id)
    now = utcnow()
    building, floor = request.args.get("building"), request.args.get("floor", type=int)
    if services.standing(event, services.participant(event, student), now)[0]:
        return jsonify(floors=[], beds=[])
    if building is None or floor is None:
        return jsonify(floors=[{"building": b, "floor": f, "free": n}
                               for b, f, n in services.free_by_floor(event, student, now)], beds=[])
    free = services.available_beds(event, student, now, building=building, floor=floor)
    rooms = {bed.room_id: f"{bed.building}-{bed.room}" for bed in free}  # in room order
    chosen = services.choosers(event, student, list(rooms), now)
    return jsonify(floors=[], beds=[{"bed_id": bed.bed_id, "bed": bed.code, "building": bed.building,
                                     "floor": bed.floor, "room": rooms[bed.room_id], "room_type": bed.room_type}
                                    for bed in free],
                   # Who chose in those rooms already: a name only where the office allows it.
                   choosers=[{"room": code, "bed": c.bed, "class_name": c.class_name,
                              "sleep": c.lifestyle.value if c.lifestyle else None, "name": c.name}
                             for room_id, code in rooms.items() for c in chosen.get(room_id, [])])


@bp.get("/<int:event_id>/group")
def group(event_id: int):
    """Who may choose with the student: those they want as roommates who want them back, not placed yet."""
    student, event = _student_and_event(event_id)
    return jsonify(members=[{"student_id": s.id, "name": s.name, "class_name": s.class_name}
                            for s in services.group_of(event, student)])


def _act(event_id: int, action):
    student, event = _student_and_event(event_id)
    if not request.is_json:
        return jsonify(error=_("Send JSON (Content-Type: application/json).")), 415
    try:
        pick = action(event, student, request.get_json(silent=True))
    except ServiceError as refused:
        db.session.rollback()
        return jsonify(error=str(refused)), 409
    db.session.commit()
    return jsonify(pick=_pick(pick) if pick is not None else None)


def _bed_id(body) -> int:
    value = body.get("bed_id") if isinstance(body, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**31:
        raise ServiceError(_("Say which bed: bed_id, a number."))
    return value


@bp.post("/<int:event_id>/hold")
@claims_limited
def hold(event_id: int):
    """``{"bed_id": n}``: keep the bed for the event's hold time."""
    return _act(event_id, lambda event, student, body: services.hold(event, student, _bed_id(body)))


def _group_hold(event, student, body):
    room = body.get("room_id") if isinstance(body, dict) else None
    members = body.get("members") if isinstance(body, dict) else None
    if not isinstance(room, int) or isinstance(room, bool) or not isinstance(members, list) \
            or not all(isinstance(m, int) and not isinstance(m, bool) for m in members) or len(members) > 20:
        raise ServiceError(_("Say which room and who: room_id, a number, and members, a list of numbers."))
    return services.hold_group(event, student, room, members)[0]


@bp.post("/<int:event_id>/hold-group")
@claims_limited
def hold_group(event_id: int):
    """``{"room_id": n, "members": [student ids]}``: a bed of one room for the student and each member, all or
    none; the answer is the student's own pick, and confirming it confirms the group's."""
    return _act(event_id, _group_hold)


@bp.post("/<int:event_id>/confirm")
@claims_limited
def confirm(event_id: int):
    return _act(event_id, lambda event, student, body: services.confirm(event, student))


@bp.post("/<int:event_id>/cancel")
@claims_limited
def cancel(event_id: int):
    return _act(event_id, lambda event, student, body: services.cancel(event, student))
