"""The Stripe webhook: signed by Stripe, never by a browser, so no CSRF token."""

from __future__ import annotations

import logging

from flask import current_app, jsonify, request

from core.db import get_session
from core.forms import csrf_exempt
from shop.stripe_events import BadWebhook, handle_event, verify
from shop.stripe_refunds import RetryLater
from shop.views import bp

logger = logging.getLogger(__name__)


@bp.route("/stripe/webhook", methods=["POST"])
@csrf_exempt
def stripe_webhook():
    """Verify, store once, apply."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        return jsonify({"error": "card payments are off"}), 404
    payload = request.get_data(cache=False)
    try:
        event = verify(payload, request.headers.get("Stripe-Signature"), secret)
    except BadWebhook as exc:
        logger.warning("refused a Stripe webhook: %s", exc)
        return jsonify({"error": "bad signature"}), 400
    try:
        outcome = handle_event(session=get_session(), event=event,
                               payload=payload.decode("utf-8", "replace"))
    except RetryLater as exc:
        # Nothing is kept (an error status rolls the request back): Stripe sends it again.
        logger.warning("Stripe event %s (%s) not applied yet: %s", event["id"],
                       event["type"], exc)
        return jsonify({"error": "try again later"}), 503
    logger.info("Stripe event %s (%s): %s", event["id"], event["type"], outcome)
    return jsonify({"received": True, "outcome": outcome})
