"""The Stripe webhook: signed by Stripe, never by a browser, so no CSRF token."""

from __future__ import annotations

import logging

from flask import current_app, jsonify, request

from core.db import get_session
from core.forms import csrf_exempt
from core.rate_limits import client_address, rate_limits
from shop.stripe_events import BadWebhook, handle_event, refusal, verify
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
    if wait := rate_limits().take("stripe-webhooks-from-address", client_address()):
        # Before the signature is checked, so forged floods cost little; Stripe sends a
        # refused event again later, so nothing is lost.
        logger.warning("Stripe webhooks from one address over their limit; answered 429")
        answer = jsonify({"error": "too many requests", "retry_after": wait})
        answer.headers["Retry-After"] = str(wait)
        return answer, 429
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
    if (reason := refusal(outcome)) is not None:
        # 2xx: it will never become valid, so Stripe must stop sending it.
        # Stripe's ids only (the event's and its object's): never the payload.
        about = ((event.get("data") or {}).get("object") or {}).get("id")
        logger.warning("refused Stripe event %s (%s) for %s: %s; nothing credited",
                       event["id"], event["type"], str(about)[:100], reason)
        return jsonify({"received": True, "outcome": "ignored", "reason": reason})
    logger.info("Stripe event %s (%s): %s", event["id"], event["type"], outcome)
    return jsonify({"received": True, "outcome": outcome})
