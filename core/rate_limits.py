"""How often one visitor may try something: wrong passwords, reset mails, new accounts,
orders, live-room messages, the JSON API, the Stripe webhook and downloads.

The counting is the `limits` library's (moving windows). Counts live in Redis when
REDIS_URL is set, so every worker and host sees the same ones; otherwise in this process
(one gunicorn worker, the `make run` mode). Each app keeps its own store, like its
database engine. If Redis cannot be reached, each process counts on its own until it
is back (one log line when that starts, one when it ends): failing closed would lock
every shopper, maker and operator out of signing in while Redis is down, and failing
open would let a password guesser try without limit; counting per process keeps the
limits, only as loose as the number of workers, and nobody is locked out.

Each figure is one a person never reaches and a script soon does; the settings in
SETTINGS change them (core/config.py checks them, README lists them). A request over a
limit is answered 429 with Retry-After and says in the reader's language how many
minutes to wait; nothing is written.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app, request
from flask_babel import ngettext
from flask_login import current_user
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from core.errors import DomainError, error_response

logger = logging.getLogger(__name__)

# What may be tried how often. Only failures count for sign-in, so a person who types
# their password right is never slowed down, and the accessibility gate's many sign-ins
# are not either.
RULES = {
    "sign-in-failures-from-address": parse("20 per 10 minutes"),
    "sign-in-failures-for-account": parse("5 per 10 minutes"),
    "reset-mails-from-address": parse("10 per hour"),
    "reset-mails-for-account": parse("3 per hour"),
    "new-accounts-from-address": parse("10 per hour"),
    # A live room's chat: a few messages a half-minute each, so one viewer cannot flood
    # a room that a deaf host reads while presenting.
    "live-messages-from-viewer": parse("5 per 30 seconds"),
    # Placing an order takes the stock for 15 minutes. Nobody fills the checkout pages
    # in more than once a minute, so 10 in 10 minutes is far above a person and stops a
    # script holding every unit with unpaid orders.
    "orders-from-buyer": parse("10 per 10 minutes"),
    # One address can be a carrier's NAT with thousands of phones on it, and a live
    # flash sale brings them in a minute: this is for the script that drops its cookies
    # to get past the buyer's limit, not for a crowd.
    "orders-from-address": parse("300 per 10 minutes"),
    # Across every room: a person types a few lines a minute on a phone; a script
    # posting in every room at once (past each room's own limit) stops here.
    "live-messages-from-user": parse("30 per 5 minutes"),
    # Questions are answered aloud or in sign one at a time: ten in ten minutes is more
    # than any host can take from one viewer, and a flood would bury everyone else's.
    "live-questions-from-user": parse("10 per 10 minutes"),
    # Reads mostly: a page's script or an app polling the schedule makes a few a second
    # at most, even for a family or an office on one address; a scraper makes hundreds.
    "api-requests-from-address": parse("600 per minute"),
    # Stripe sends from a few addresses and in bursts (a flash sale, or its backlog after
    # an outage): 10 a second each is above any burst this shop makes. Counted before
    # the signature is checked, so a flood of forged events costs little; over it Stripe
    # is answered 429 and sends again later, so no event is lost.
    "stripe-webhooks-from-address": parse("600 per minute"),
    # Statements, CSV and spreadsheet exports are built on request: a coordinator
    # fetching a year of months for a few members stays under 60 in 10 minutes.
    "documents-for-user": parse("60 per 10 minutes"),
    # A bought audiobook's link allows 5 downloads; 60 in 10 minutes from one address
    # is a household fetching every book it bought, not a link passed round to scrape.
    "digital-downloads-from-address": parse("60 per 10 minutes"),
    # Replays and audiobook samples are played by the browser in range requests (each
    # seek is one): a viewer scrubbing through a replay makes dozens, not hundreds.
    "media-from-address": parse("600 per 10 minutes"),
    # A business asks a workshop for a task order a few times a year; a script filling
    # every workshop's coordinators' inboxes is stopped after a handful.
    "task-order-requests-from-address": parse("20 per hour"),
    "task-order-requests-from-sender": parse("5 per hour"),
}
# The settings that change a rule's figure (`"20 per 5 minutes"`, the limits library's
# notation); the rules of sign-in, reset mails, new accounts and a room's chat are fixed.
SETTINGS = {
    "orders-from-buyer": "RATE_LIMIT_CHECKOUT_BUYER",
    "orders-from-address": "RATE_LIMIT_CHECKOUT_ADDRESS",
    "live-messages-from-user": "RATE_LIMIT_LIVE_MESSAGES_USER",
    "live-questions-from-user": "RATE_LIMIT_LIVE_QUESTIONS_USER",
    "api-requests-from-address": "RATE_LIMIT_API_ADDRESS",
    "stripe-webhooks-from-address": "RATE_LIMIT_WEBHOOK_ADDRESS",
    "documents-for-user": "RATE_LIMIT_DOCUMENTS_USER",
    "digital-downloads-from-address": "RATE_LIMIT_DOWNLOADS_ADDRESS",
    "media-from-address": "RATE_LIMIT_MEDIA_ADDRESS",
}
# Downloads, by endpoint: counted before the view runs, per signed-in user or address.
DOWNLOADS = {
    "income.statement": "documents-for-user",
    "income.export_income": "documents-for-user",
    "income.workshop_export": "documents-for-user",
    "income.impact_csv": "documents-for-user",
    "income.operator_batch_csv": "documents-for-user",
    "livestream.stream_report_csv": "documents-for-user",
    "privacy.personal_data_download": "documents-for-user",
    "operator_accounts.audit.entries_csv": "documents-for-user",
    "shop.download": "digital-downloads-from-address",
    "livestream.recording_file": "media-from-address",
    "catalog.sample_file": "media-from-address",
}


class TooManyRequests(DomainError):
    """Over a limit: answered 429 with Retry-After, saying how many minutes to wait."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, seconds: int) -> None:
        self.retry_after = max(1, int(seconds))
        super().__init__(wait_message(self.retry_after))


def wait_message(seconds: int) -> str:
    """The words "try again in N minutes" in the reader's language (at least one)."""
    minutes = max(1, -(-int(seconds) // 60))
    return ngettext("Too many tries. Please try again in %(num)d minute.",
                    "Too many tries. Please try again in %(num)d minutes.", minutes)


class RateLimits:
    """One app's counters; `allowed(rule, key)` asks, `count(rule, key)` adds one try."""

    def __init__(self, storage_uri: str, prefix: str,
                 rules: dict[str, RateLimitItem] | None = None) -> None:
        shared = storage_uri.startswith(("redis", "rediss", "unix"))
        # A Redis that does not answer must not hold a sign-in for the OS's minutes.
        options = {"wrap_exceptions": True, "socket_timeout": 2,
                   "socket_connect_timeout": 2} if shared else {}
        self.storage = storage_from_string(storage_uri, **options)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.local = MovingWindowRateLimiter(storage_from_string("memory://"))
        self.prefix = prefix
        self.rules = {**RULES, **(rules or {})}
        self._unreachable_since: float | None = None

    def _ask(self, method: str, rule: str, key: str):
        try:
            answer = getattr(self.limiter, method)(self.rules[rule], self.prefix, rule, key)
        except StorageError as exc:
            if self._unreachable_since is None:
                self._unreachable_since = time.monotonic()
                logger.warning("rate limits: the shared store cannot be reached (%s); "
                               "each process counts on its own until it is back",
                               type(exc.storage_error).__name__)
            return getattr(self.local, method)(self.rules[rule], self.prefix, rule, key)
        if self._unreachable_since is not None:
            logger.info("rate limits: the shared store is back after %d s",
                        time.monotonic() - self._unreachable_since)
            self._unreachable_since = None
        return answer

    def allowed(self, rule: str, key: str) -> bool:
        """False once `key` has used up what `rule` allows in its window."""
        return self._ask("test", rule, key)

    def count(self, rule: str, key: str) -> None:
        """Count one try of `key` against `rule`."""
        self._ask("hit", rule, key)

    def retry_after(self, rule: str, key: str) -> int:
        """Seconds until `key` may try `rule` again (0 if it may now)."""
        reset_at, remaining = self._ask("get_window_stats", rule, key)
        return 0 if remaining > 0 else max(1, int(reset_at - time.time()) + 1)

    def take(self, rule: str, key: str) -> int:
        """Count one try of `key` if `rule` allows it (0); else the seconds to wait."""
        if self._ask("hit", rule, key):
            return 0
        return max(1, self.retry_after(rule, key))


_made = threading.Lock()


def rate_limits() -> RateLimits:
    """The current app's counters (made on first use: most apps in tests never need them)."""
    limits = current_app.extensions.get("rate_limits")
    if limits is None:
        with _made:
            limits = current_app.extensions.get("rate_limits")
            if limits is None:
                config = current_app.config
                uri = config.get("RATE_LIMIT_STORAGE") or config.get("REDIS_URL") or "memory://"
                rules = {rule: parse(str(config[name])) for rule, name in SETTINGS.items()
                         if config.get(name)}
                limits = RateLimits(uri, config.get("RATE_LIMIT_PREFIX") or "gongfang",
                                    rules)
                current_app.extensions["rate_limits"] = limits
    return limits


def minutes_to_wait(tries: dict[str, str]) -> int | None:
    """None if every `rule: key` in `tries` may be tried now, else whole minutes to wait."""
    limits = rate_limits()
    waits = [limits.retry_after(rule, key) for rule, key in tries.items()
             if not limits.allowed(rule, key)]
    if not waits:
        return None
    return max(1, -(-max(waits) // 60))


def count_tries(tries: dict[str, str]) -> None:
    """Count one try for every `rule: key` in `tries`."""
    limits = rate_limits()
    for rule, key in tries.items():
        limits.count(rule, key)


def client_address() -> str:
    """The visitor's address (behind the production proxy, ProxyFix has set it)."""
    return request.remote_addr or "unknown"


def refuse_if_over(tries: dict[str, str]) -> None:
    """Count one try for every `rule: key`; TooManyRequests if any has none left."""
    limits = rate_limits()
    waits = [limits.take(rule, key) for rule, key in tries.items()]
    if max(waits, default=0):
        raise TooManyRequests(max(waits))


def user_or_address() -> str:
    """The signed-in person, or the address of someone who is not signed in."""
    if current_user and current_user.is_authenticated:
        return f"user-{current_user.id}"
    return f"address-{client_address()}"


def _limit_api_and_downloads() -> None:
    if request.endpoint in DOWNLOADS:
        rule = DOWNLOADS[request.endpoint]
        key = user_or_address() if rule.endswith("-for-user") else client_address()
        refuse_if_over({rule: key})
    elif request.path.startswith("/api/"):
        refuse_if_over({"api-requests-from-address": client_address()})


def init_app(app: Flask) -> None:
    """Limit the JSON API and downloads before their views run; answer 429s."""
    app.before_request(_limit_api_and_downloads)

    @app.errorhandler(TooManyRequests)
    def _too_many(error: TooManyRequests):
        response, status = error_response(429, error.message, error.code)
        response = current_app.make_response((response, status))
        response.headers["Retry-After"] = str(error.retry_after)
        return response
