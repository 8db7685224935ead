"""localstripe served on 127.0.0.1 from a thread, its state in memory only.

Its command line binds every interface and pickles its store to /tmp on every write;
here the same aiohttp app is served on loopback and the store's disk dump is disabled.

One known bug of localstripe 1.15 is mended here, so that a real browser can pay
through the flow real Stripe.js serves (upstream issue adrienverge/localstripe#253, fixes
proposed in pull requests #242 and #258, not released): its stand-in
`confirmCardPayment(clientSecret, {payment_method: {card: cardElement}})` skips the
confirmation, ignores the card typed into the Card Element and always opens its
3-D Secure box, whose answer then fails with 400 because the intent was never confirmed.
Real Stripe.js confirms the PaymentIntent with the card's details (publishable key and
client secret) and asks for 3-D Secure only when the intent then requires an action.
`browser_confirm` below does that confirmation with localstripe's own objects
(PaymentMethod, PaymentIntent._confirm), so its test cards decide the outcome as they
do for the server API: 4242 4242 4242 4242 pays, 4000 0000 0000 0341 is declined when
charged, 4000 0025 0000 3155 asks for 3-D Secure.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from pathlib import Path

from aiohttp import web

CONFIRM_PATH = re.compile(r"^/v1/payment_intents/(pi_\w+)/confirm$")
STRIPE_JS_PATH = "/js.stripe.com/v3/"

# Replaces localstripe's confirmCardPayment in its Stripe.js (same script, so `Element`,
# `openModal` and `LOCALSTRIPE_BASE_API` are in scope), modelled on its confirmCardSetup.
CONFIRM_CARD_PAYMENT_JS = r"""
    confirmCardPayment: async (clientSecret, data) => {
      console.log('localstripe (mended): Stripe().confirmCardPayment()');
      try {
        const pi = clientSecret.match(/^(pi_\w+)_secret_/)[1];
        const request = {key: apiKey, use_stripe_sdk: true, client_secret: clientSecret};
        const method = data && data.payment_method;
        if (method && method.card instanceof Element) {
          const value = method.card.value;
          if (!value || !value.card.number) {
            return {error: {type: 'validation_error', code: 'incomplete_number',
                            message: 'Your card number is incomplete.'}};
          }
          request.payment_method_data = {
            type: 'card',
            card: Object.assign({}, value.card,
                                {number: value.card.number.replace(/\s+/g, '')}),
            billing_details: method.billing_details || {},
          };
        } else if (typeof method === 'string') {
          request.payment_method = method;
        }
        const post = async (path, body) => {
          const response = await fetch(LOCALSTRIPE_BASE_API + path,
                                       {method: 'POST', body: JSON.stringify(body)});
          const result = await response.json().catch(() => ({}));
          return (response.status !== 200 || result.error)
            ? {error: result.error || {message: 'HTTP ' + response.status}}
            : {paymentIntent: result};
        };
        let result = await post(`/v1/payment_intents/${pi}/confirm`, request);
        if (result.error || result.paymentIntent.status !== 'requires_action') {
          return result;
        }
        const success = await openModal('3D Secure\nDo you want to confirm or cancel?',
                                        'Complete authentication', 'Fail authentication');
        result = await post(`/v1/payment_intents/${pi}/_authenticate?success=${success}`,
                            {key: apiKey, client_secret: clientSecret});
        if (!result.error && result.paymentIntent.status === 'requires_payment_method') {
          return {error: {type: 'card_error', code: 'payment_intent_authentication_failure',
                          message: 'We are unable to authenticate your payment method.'}};
        }
        return result;
      } catch (err) {
        return {error: (err && err.error) || {message: String(err)}};
      }
    },
"""


def mended_stripe_js(original: str) -> str:
    """localstripe's Stripe.js with confirmCardPayment replaced (see the module doc)."""
    start = original.index("    confirmCardPayment: async (clientSecret, data) => {")
    end = original.index("    handleCardPayment:", start)
    return original[:start] + CONFIRM_CARD_PAYMENT_JS.lstrip("\n") + original[end:]


def _confirm_from_browser(intent_id: str, data: dict):
    """Confirm a PaymentIntent as Stripe.js does: publishable key, client secret, card."""
    from localstripe.errors import UserError
    from localstripe.resources import PaymentIntent, PaymentMethod

    intent = PaymentIntent._api_retrieve(intent_id)
    if data.get("client_secret") != intent.client_secret:
        raise UserError(401, "Unauthorized")
    if intent.status not in ("requires_payment_method", "requires_confirmation"):
        raise UserError(400, f"This PaymentIntent's status is {intent.status}.",
                        {"code": "payment_intent_unexpected_state"})
    if intent.status == "requires_payment_method":
        # A new attempt after a declined one: localstripe reads the status from the
        # latest charge, which would otherwise keep saying "failed".
        intent.latest_charge = None
    method_data = data.get("payment_method_data")
    if method_data:
        method_data = dict(method_data)
        if not method_data.get("billing_details"):
            method_data.pop("billing_details", None)
        method = PaymentMethod._api_create(**method_data)
        intent.payment_method = method.id
    elif data.get("payment_method"):
        intent.payment_method = PaymentMethod._api_retrieve(data["payment_method"]).id
    if intent.status != "requires_confirmation":
        raise UserError(400, "A payment method is needed to confirm this PaymentIntent.",
                        {"code": "payment_intent_unexpected_state"})
    # A declined card raises UserError(402, 'card_declined') here, as the real API answers.
    intent._confirm(on_failure_now=intent._report_failure)
    return intent


@web.middleware
async def browser_confirm(request, handler):
    """Serve the mended Stripe.js and the browser's PaymentIntent confirmation."""
    from localstripe import server

    if request.method == "GET" and request.path == STRIPE_JS_PATH:
        original = (Path(server.__file__).parent / "localstripe-v3.js").read_text()
        return web.Response(text=mended_stripe_js(original),
                            content_type="application/javascript")
    match = CONFIRM_PATH.match(request.path)
    if request.method == "POST" and match and "Authorization" not in request.headers:
        data = await server.get_post_data(request, remove_auth=False) or {}
        if str(data.get("key", "")).startswith("pk_"):
            intent = _confirm_from_browser(match.group(1), data)
            return server.json_response(intent._export())
    return await handler(request)


class LocalStripe:
    """A running localstripe; `.url` is its API base (and Stripe.js at /js.stripe.com/v3/)."""

    def __init__(self) -> None:
        import warnings

        with warnings.catch_warnings():
            # localstripe registers plain functions as aiohttp handlers (deprecated there).
            warnings.simplefilter("ignore", DeprecationWarning)
            from localstripe import resources, server

        resources.store.clear()
        resources.store.dump_to_disk = lambda: None  # no pickle under /tmp
        self._app = server.app
        if browser_confirm not in self._app.middlewares:
            # After its error middleware (which turns UserError into Stripe's JSON
            # errors), before its authentication (which wants the secret key here).
            self._app.middlewares.insert(1, browser_confirm)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._sock = sock
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(self._app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.SockSite(self._runner, self._sock)
        self._loop.run_until_complete(site.start())
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> LocalStripe:
        self._thread.start()
        self._ready.wait(10)
        return self

    def reset(self) -> None:
        """Forget every object and webhook (between tests)."""
        from localstripe import resources, webhooks

        resources.store.clear()
        webhooks._webhooks.clear()

    def stop(self) -> None:
        async def _cleanup():
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(_cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
        self.reset()
