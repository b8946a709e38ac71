"""The HTTP endpoint access-control systems post door events to (JSON, token-authenticated)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import BadRequest

from ..core.clock import utcnow
from ..extensions import csrf, db
from . import entitlements, ingest, tokens

bp = Blueprint("access_api", __name__, url_prefix="/api/access")


@bp.post("/events")
@csrf.exempt  # a machine with a bearer token, not a browser with a session
def post_events():
    """``{"events": [{event_id, card, building, door, time, direction, result}, …]}``, up to 10,000.

    All or nothing: 200 with counts, or 400 with an error per event and field; 401 without a valid
    token. The same event sent twice is stored once, so a client may resend after any failure."""
    token = tokens.authenticate(request.headers.get("Authorization"), tokens.EVENTS_SCOPE)
    if token is None:
        return jsonify(error="a valid API token with the events:post scope is required"), 401
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # how the json module refuses deep nesting (not a ValueError, so not "silent")
        raise BadRequest("the JSON is nested too deeply") from None
    items = body.get("events") if isinstance(body, dict) else None
    try:
        report = ingest.import_event_batch(items, source=f"api{token.id}")
    except ingest.Rejected as rejected:
        db.session.rollback()
        return jsonify(error="nothing was stored", errors=[
            {"event": e.row, "field": e.column, "message": e.message} for e in rejected.errors]), 400
    token.last_used_at = utcnow()
    db.session.commit()
    return jsonify(received=report.rows, stored=report.stored, duplicates=report.duplicates,
                   unmatched=report.unmatched)


@bp.get("/entitlements")
def get_entitlements():
    """Who may enter which building: every current resident with their building, cards and PINs."""
    token = tokens.authenticate(request.headers.get("Authorization"), tokens.RESIDENTS_SCOPE)
    if token is None:
        return jsonify(error="a valid API token with the residents:read scope is required"), 401
    token.last_used_at = utcnow()
    db.session.commit()
    return jsonify(residents=[{"student_number": e.student_number, "building": e.building, "cards": e.cards,
                               "pins": e.pins} for e in entitlements.entitlements()])
