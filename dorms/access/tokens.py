"""API tokens for access-control integrations: shown once, stored hashed, revocable, one scope."""
from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import audit
from ..core.clock import utcnow
from ..extensions import db
from .models import ApiToken

PREFIX = "dak_"  # dorms access key: recognisable in logs and secret scanners
EVENTS_SCOPE = "events:post"  # an access-control system posting door events
RESIDENTS_SCOPE = "residents:read"  # a door system reading who may enter which building
SCOPES = (EVENTS_SCOPE, RESIDENTS_SCOPE)
# What a scope lets a token do, as people read it (the scope itself is the API's word).
SCOPE_LABELS = {EVENTS_SCOPE: _l("send door events"), RESIDENTS_SCOPE: _l("read who may enter which building")}


def _digest(token: str) -> str:
    # Tokens are 256 random bits: a plain hash cannot be brute-forced, and checks stay fast.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(name: str, scope: str = EVENTS_SCOPE, actor=None) -> tuple[ApiToken, str]:
    """A new token for ``name`` with one scope; returns the row and the token, which is never shown again."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name.strip()[:120], prefix=token[:12], token_hash=_digest(token), scope=scope,
                   created_by_id=actor.id if actor else None)
    db.session.add(row)
    db.session.flush()
    audit.record("access.token.create", token_id=row.id, name=row.name, scope=scope, actor=actor)
    return row, token


def revoke_token(row: ApiToken, actor=None) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record("access.token.revoke", token_id=row.id, name=row.name, actor=actor)


def authenticate(header: str | None, scope: str) -> ApiToken | None:
    """The live token an ``Authorization: Bearer …`` header carries, if it has ``scope``."""
    if not header or not header.startswith("Bearer "):
        return None
    token = header.removeprefix("Bearer ").strip()
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None or row.scope != scope \
            or not hmac.compare_digest(row.token_hash, _digest(token)):
        return None
    return row
