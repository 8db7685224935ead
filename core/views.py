"""Site-wide pages: the language and time-zone switches, help, and a health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request
from sqlalchemy import text

from core import timezones
from core.config import SUPPORTED_LOCALES
from core.db import get_session
from core.errors import NotFound
from core.forms import TimeZoneForm
from core.i18n import LANGUAGE_COOKIE, safe_next_url

bp = Blueprint("site", __name__)


@bp.route("/language/<code>")
def switch_language(code: str):
    """Show the site in `code` from now on, and go back to the page the reader was on."""
    if code not in SUPPORTED_LOCALES:
        raise NotFound()
    response = redirect(safe_next_url(request.args.get("next")))
    response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                        httponly=True, secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@bp.route("/time-zone")
def time_zone():
    """Choose the zone times are shown in on this browser, then go back where you were."""
    sent = "zone" in request.args
    form = TimeZoneForm(formdata=request.args if sent else None)
    form.zone.offer(include=timezones.viewer_zone_name())
    next_url = safe_next_url(request.args.get("next"), "/live")
    if sent and form.validate():
        return timezones.set_zone_cookie(redirect(next_url, code=303), form.zone.data)
    if not sent:
        form.zone.data = timezones.viewer_zone_name()
    return render_template("time_zone.html", form=form, next_url=next_url,
                           chosen=timezones.viewer_has_chosen()), 400 if sent else 200


@bp.route("/help")
def help_page():
    """How to use the shop, and what we do for accessibility."""
    return render_template("help.html")


@bp.route("/healthz")
def health():
    """For the load balancer: the database answers."""
    get_session().execute(text("SELECT 1"))
    return jsonify(status="ok")
