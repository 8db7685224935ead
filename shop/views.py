"""Cart, checkout and orders (built by the shop issue)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("shop", __name__)
