"""How often one visitor may try something: wrong passwords, reset mails, new accounts.

The counting is the `limits` library's (moving windows). Counts live in Redis when
REDIS_URL is set, so every worker and host sees the same ones; otherwise in this process
(one gunicorn worker, the `make run` mode). Each app keeps its own store, like its
database engine. If Redis cannot be reached the shop keeps working without limits and
says so in the log: a sign-in page that fails because of a counter is worse than one
that counts nothing for a minute.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import current_app, request
from limits import parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

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
}


class RateLimits:
    """One app's counters; `allowed(rule, key)` asks, `count(rule, key)` adds one try."""

    def __init__(self, storage_uri: str, prefix: str) -> None:
        options = {"wrap_exceptions": True} if storage_uri.startswith(("redis", "rediss",
                                                                          "unix")) else {}
        self.storage = storage_from_string(storage_uri, **options)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.prefix = prefix

    def allowed(self, rule: str, key: str) -> bool:
        """False once `key` has used up what `rule` allows in its window."""
        try:
            return self.limiter.test(RULES[rule], self.prefix, rule, key)
        except StorageError:
            logger.warning("rate limits: the store cannot be reached; not limiting %s", rule)
            return True

    def count(self, rule: str, key: str) -> None:
        """Count one try of `key` against `rule`."""
        try:
            self.limiter.hit(RULES[rule], self.prefix, rule, key)
        except StorageError:
            logger.warning("rate limits: the store cannot be reached; not counting %s", rule)

    def retry_after(self, rule: str, key: str) -> int:
        """Seconds until `key` may try `rule` again (0 if it may now)."""
        try:
            reset_at, remaining = self.limiter.get_window_stats(RULES[rule], self.prefix,
                                                                rule, key)
        except StorageError:
            return 0
        return 0 if remaining > 0 else max(1, int(reset_at - time.time()) + 1)


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
                limits = RateLimits(uri, config.get("RATE_LIMIT_PREFIX") or "gongfang")
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
