"""A short-lived cache, per process and app, of storefront pages for visitors who are not signed in.

Why: a catalogue or product page costs a few database queries and a template render;
most visitors are anonymous and see the same page. Keeping the rendered page for a
few seconds (CATALOG_PAGE_CACHE_SECONDS, default 5; 0 turns it off; off in tests
unless a test sets it) lets
one worker serve thousands of them per second.

Pages are kept per app, path, language and time zone. What is never cached: requests
whose session holds anything but a CSRF token (signed in, a cart, flashed messages) or
that carry a remember-me cookie, anything but GET, error responses, and any page whose
view put anything but a CSRF token into the session.

The buy box carries a CSRF token, and a token belongs to one visitor's session. So the
token is cut out of the page before it is stored, and every visitor served from the
cache gets a token of their own (and the session cookie that goes with it) put back
in. Serving one visitor's token to the next would make their "add to cart" fail.
A visitor who has seen one buy box carries that session from then on, holding the
token and nothing else: they are served from the cache too, with their own token.
Stock left may be up to that many seconds old on the page; the checkout decides stock
in the database, never from the page.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from functools import wraps

from flask import current_app, g, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

MAX_ENTRIES = 2000
# Stands in for the visitor's CSRF token in a stored page; cannot occur in HTML we render
# (every text is escaped, and tokens are URL-safe base64).
TOKEN_HOLE = b"\x00csrf-token\x00"
_lock = threading.Lock()
_pages: OrderedDict[tuple, tuple[float, bytes, int, tuple]] = OrderedDict()


def clear() -> None:
    """Forget every cached page of this process (after a catalog write)."""
    with _lock:
        _pages.clear()


def _app_mark() -> str:
    return current_app.extensions.setdefault("catalog_page_cache_mark", secrets.token_hex(8))


def _anyones_session() -> bool:
    """True when the session holds nothing a page could show: at most a CSRF token,
    and Flask-Login's note to clear a remember-me cookie (its "strong" protection
    leaves that in the session of every visitor with a session who is not signed in)."""
    return (set(session.keys()) <= {"csrf_token", "_remember"}
            and session.get("_remember", "clear") == "clear")


def _cacheable_request() -> bool:
    if request.method != "GET" or "remember_token" in request.cookies:
        return False
    if current_app.config.get("SESSION_COOKIE_NAME", "session") not in request.cookies:
        return True
    # Reading the session only checks the cookie's signature; nothing is written.
    return _anyones_session()


def cached_page(view):
    """Serve `view`'s page from the cache for anonymous visitors (see the module doc)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        seconds = current_app.config.get("CATALOG_PAGE_CACHE_SECONDS",
                                         0 if current_app.testing else 5)
        if not seconds or not _cacheable_request():
            return view(*args, **kwargs)
        from core.i18n import LANGUAGE_COOKIE
        from core.timezones import visitor_zone_name

        # Without an account the language and the time zone (pages show stream times)
        # come from cookies alone (core.i18n, core.timezones); the zone is keyed by the
        # one in force, so junk cookie values all share the default's entry. The app's
        # own mark keeps apart two apps of one process (tests make one per test, each on
        # its own database), which would otherwise see each other's pages.
        key = (_app_mark(), request.full_path, request.cookies.get(LANGUAGE_COOKIE, ""),
               visitor_zone_name())
        now = time.monotonic()
        with _lock:
            entry = _pages.get(key)
            if entry is not None and entry[0] > now:
                _pages.move_to_end(key)
            else:
                entry = None
        if entry is not None:
            _, body, status, headers = entry
            if TOKEN_HOLE in body:
                # This visitor's own token; it also starts their session (Set-Cookie).
                body = body.replace(TOKEN_HOLE, generate_csrf().encode())
            response = Response(body, status=status, headers=list(headers))
            response.headers["X-Page-Cache"] = "hit"
            return response
        response = current_app.make_response(view(*args, **kwargs))
        # The session cookie is only written after the view returns, so what the view
        # put in the session is what says whether the page is anyone else's to see.
        if (response.status_code == 200 and not response.direct_passthrough
                and "Set-Cookie" not in response.headers and not current_user.is_authenticated
                and _anyones_session()):
            body = response.get_data()
            token = g.get("csrf_token")
            if token:
                body = body.replace(token.encode(), TOKEN_HOLE)
            headers = tuple((k, v) for k, v in response.headers.items()
                            if k.lower() not in {"content-length", "set-cookie"})
            with _lock:
                _pages[key] = (now + seconds, body, 200, headers)
                _pages.move_to_end(key)
                while len(_pages) > MAX_ENTRIES:
                    _pages.popitem(last=False)
            response.headers["X-Page-Cache"] = "miss"
        return response

    return wrapped
