"""Site-wide pages: the language and time-zone switches, help, health, readiness and
metrics."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, jsonify, redirect, render_template, request

from core import openapi_parts as _openapi_parts  # noqa: F401 - declares its parts
from core import timezones, url_ids
from core.config import SUPPORTED_LOCALES
from core.db import utcnow
from core.errors import NotFound
from core.forms import TimeZoneForm
from core.i18n import LANGUAGE_COOKIE, safe_next_url
from core.openapi import bp as openapi_bp

bp = Blueprint("site", __name__)
bp.register_blueprint(openapi_bp)  # the one OpenAPI document, /api/openapi.json
# Registered first (app.py), so every blueprint's `<int:...>` is bounded (core/url_ids.py).
bp.record_once(lambda state: url_ids.install(state.app))


@bp.app_template_global()
def csv_columns(endpoint: str):
    """The columns of the CSV that `endpoint` serves, for the download page's guide."""
    from core.csv_export import columns_of

    return columns_of(endpoint)


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
    """For the container and load balancer: the process is up (no dependency asked)."""
    return jsonify(status="ok")


@bp.route("/.well-known/security.txt")
def security_txt():
    """Where to report a security problem (RFC 9116), when the operator has said where:
    without SECURITY_CONTACT there is no one to read the reports, so no file."""
    contact = current_app.config.get("SECURITY_CONTACT")
    if not contact:
        raise NotFound()
    # Expires is required and must not be far off: a year ahead of today, so the file
    # never goes stale while the setting stays.
    expires = (utcnow() + timedelta(days=365)).replace(hour=0, minute=0, second=0,
                                                        microsecond=0)
    lines = [f"Contact: {contact}", f"Expires: {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}",
             "Preferred-Languages: zh, en"]
    if current_app.config.get("BASE_URL"):
        lines.append(f"Canonical: {current_app.config['BASE_URL']}/.well-known/security.txt")
    response = current_app.response_class("\n".join(lines) + "\n",
                                          mimetype="text/plain")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.route("/readyz")
def readiness():
    """For the load balancer and the operator: the database, and Redis and the live
    edge when configured, answer now; 503 naming each that does not."""
    from core.readiness import readiness as check

    ready, checks = check(current_app._get_current_object())
    response = jsonify(status="ready" if ready else "not ready", checks=checks)
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/metrics")
def metrics():
    """Prometheus metrics, for the operator's scraper only (see core/metrics.py)."""
    from core.metrics import metrics_response

    return metrics_response()
