"""Pages of the hygiene feature."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("hygiene", __name__)
