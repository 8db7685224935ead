"""Gunicorn's logs without personal data or secret links.

Some addresses are the key to what they show: an order's page (`/orders/<token>`, its
payment pages too), a paid download, a host's calendar feed, a password reset. Whoever
reads a log line with one of them could open the order or take the account. Query
strings may carry e-mail addresses or tokens as well. So an access line holds the
method, the path with each secret segment replaced by `:token` (an address in a path
by `:email`), the status, the size and the time taken: never the query string, the
client's address, its user agent or the referring page. The client's address is
personal data (PIPL, GDPR), behind the edge or a proxy it names the proxy anyway, and
abuse is limited inside the app (core/rate_limits.py), which needs no log of it.

`gunicorn.conf.py` sets `logger_class = "core.access_log.RedactingLogger"`; the same
redaction is applied to gunicorn's error lines (a request that failed is logged with
its address) and, through `RedactingFilter`, to the app's own log lines.
"""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger

TOKEN = ":token"  # noqa: S105 - the placeholder, not a secret
EMAIL = ":email"
LONGEST_PATH = 200

# The routes whose segment after the prefix is a secret (shop/order_views.py,
# accounts/views.py, livestream/views.py).
_SECRET_ROUTES = [
    (re.compile(r"^(/orders/)[^/]+"), rf"\g<1>{TOKEN}"),
    (re.compile(r"^(/downloads/)[^/]+"), rf"\g<1>{TOKEN}"),
    (re.compile(r"^(/calendar/host/)[^/]+?(\.ics)?$"), rf"\g<1>{TOKEN}\g<2>"),
    (re.compile(r"^((?:/account)?/password/reset/)[^/]+"), rf"\g<1>{TOKEN}"),
]
# Anything else that looks made by `secrets` or itsdangerous: long, of the URL-safe
# alphabet, in mixed case. Slugs are lower-case, order numbers upper-case, ids short.
_RANDOM_SEGMENT = re.compile(r"^(?=.*[A-Z])(?=.*[a-z])[A-Za-z0-9_.=-]{16,}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_URI_IN_TEXT = re.compile(r"(?<![\w:/.])/[^\s'\"]*")
_IP_IN_TEXT = re.compile(r"\bip=\S+?(?=:|\s|$)")


def _segment(segment: str) -> str:
    if "@" in segment:
        return EMAIL
    if _RANDOM_SEGMENT.match(segment):
        return TOKEN
    return segment


def redact_path(uri: str) -> str:
    """The path of `uri` with secret segments replaced, fit for a log line."""
    path = uri.split("?", 1)[0].split("#", 1)[0]
    for pattern, replacement in _SECRET_ROUTES:
        path, count = pattern.subn(replacement, path, count=1)
        if count:
            break
    path = "/".join(_segment(part) for part in path.split("/"))
    # A decoded %0A would start a forged log line: control characters are shown escaped.
    path = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", path)
    if len(path) > LONGEST_PATH:
        path = path[:LONGEST_PATH] + "..."
    return path


def redact_text(text: str) -> str:
    """A log message with every path in it redacted and client addresses removed."""
    text = _IP_IN_TEXT.sub("ip=-", text)
    return _URI_IN_TEXT.sub(lambda match: redact_path(match.group()), text)


# The atoms an access line may use (gunicorn's names); any other (%(h)s, %(a)s, %(f)s,
# %(q)s, headers, environ) prints "-".
_SAFE_ATOMS = ("t", "m", "s", "b", "B", "T", "D", "M", "L", "p", "H")


class RedactingLogger(Logger):
    """Gunicorn's logger, keeping only what the module docstring allows."""

    def atoms(self, resp, req, environ, request_time):
        """The access line's fields: the safe ones, the path redacted."""
        every = super().atoms(resp, req, environ, request_time)
        atoms = {name: every[name] for name in _SAFE_ATOMS if name in every}
        path = redact_path(environ.get("PATH_INFO") or "")
        atoms["U"] = path
        atoms["r"] = f"{every.get('m') or '-'} {path} {every.get('H') or '-'}"
        return atoms

    def log(self, lvl, msg, *args, **kwargs):
        super().log(lvl, _clean(msg, args), **kwargs)

    def critical(self, msg, *args, **kwargs):
        super().critical(_clean(msg, args), **kwargs)

    def error(self, msg, *args, **kwargs):
        super().error(_clean(msg, args), **kwargs)

    def warning(self, msg, *args, **kwargs):
        super().warning(_clean(msg, args), **kwargs)

    def info(self, msg, *args, **kwargs):
        super().info(_clean(msg, args), **kwargs)

    def debug(self, msg, *args, **kwargs):
        super().debug(_clean(msg, args), **kwargs)

    def exception(self, msg, *args, **kwargs):
        super().exception(_clean(msg, args), **kwargs)


def _clean(msg, args) -> str:
    # Handed on without arguments, so logging does not %-format it a second time.
    return redact_text(str(msg) % args if args else str(msg))


class RedactingFilter(logging.Filter):
    """Redacts paths in any record a handler writes (Flask logs "Exception on /path")."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message; never drops it."""
        record.msg = redact_text(record.getMessage())
        record.args = ()
        return True
