"""Pages of the violations feature."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("violations", __name__)
