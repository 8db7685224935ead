"""Live sessions, host slots and the live room (built by the scheduling issue)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("livestream", __name__)
