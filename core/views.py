"""Site-wide pages: the language switch, help, and a health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request
from sqlalchemy import text

from core.config import SUPPORTED_LOCALES
from core.db import get_session
from core.errors import NotFound
from core.i18n import LANGUAGE_COOKIE, safe_next_url

bp = Blueprint("site", __name__)


@bp.route("/language/<code>")
def switch_language(code: str):
    """Show the site in `code` from now on, and go back to the page the reader was on."""
    if code not in SUPPORTED_LOCALES:
        raise NotFound()
    response = redirect(safe_next_url(request.args.get("next")))
    response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                        httponly=True)
    return response


@bp.route("/help")
def help_page():
    """How to use the shop, and what we do for accessibility."""
    return render_template("help.html")


@bp.route("/healthz")
def health():
    """For the load balancer: the database answers."""
    get_session().execute(text("SELECT 1"))
    return jsonify(status="ok")
