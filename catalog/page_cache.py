"""A short-lived, per-process cache of storefront pages for visitors who are not signed in.

Why: a catalogue or product page costs a few database queries and a template render;
most visitors are anonymous and see the same page. Keeping the rendered page for a
few seconds (CATALOG_PAGE_CACHE_SECONDS, default 5; 0 turns it off; off in tests
unless a test sets it) lets
one worker serve thousands of them per second.

What is never cached: requests with a session cookie (signed in, a cart, flashed
messages), anything but GET, error responses, and any response that sets a cookie
(a page that puts a CSRF token into a new session must reach every visitor fresh).
Stock left may so be up to that many seconds old on the page; the checkout decides
stock in the database, never from the page.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from functools import wraps

from flask import current_app, request
from flask_login import current_user
from werkzeug.wrappers import Response

MAX_ENTRIES = 2000
_lock = threading.Lock()
_pages: OrderedDict[tuple, tuple[float, bytes, int, tuple]] = OrderedDict()


def clear() -> None:
    """Forget every cached page of this process (after a catalog write)."""
    with _lock:
        _pages.clear()


def _cacheable_request() -> bool:
    session_cookie = current_app.config.get("SESSION_COOKIE_NAME", "session")
    return (request.method == "GET" and session_cookie not in request.cookies
            and "remember_token" not in request.cookies)


def cached_page(view):
    """Serve `view`'s page from the cache for anonymous visitors (see the module doc)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        seconds = current_app.config.get("CATALOG_PAGE_CACHE_SECONDS",
                                         0 if current_app.testing else 5)
        if not seconds or not _cacheable_request():
            return view(*args, **kwargs)
        from core.i18n import LANGUAGE_COOKIE

        # Without an account the language comes from this cookie alone (core.i18n).
        key = (request.full_path, request.cookies.get(LANGUAGE_COOKIE, ""))
        now = time.monotonic()
        with _lock:
            entry = _pages.get(key)
            if entry is not None and entry[0] > now:
                _pages.move_to_end(key)
                _, body, status, headers = entry
                response = Response(body, status=status, headers=list(headers))
                response.headers["X-Page-Cache"] = "hit"
                return response
        response = current_app.make_response(view(*args, **kwargs))
        if (response.status_code == 200 and not response.direct_passthrough
                and "Set-Cookie" not in response.headers and not current_user.is_authenticated):
            headers = tuple((k, v) for k, v in response.headers.items()
                            if k.lower() not in {"content-length", "set-cookie"})
            with _lock:
                _pages[key] = (now + seconds, response.get_data(), 200, headers)
                _pages.move_to_end(key)
                while len(_pages) > MAX_ENTRIES:
                    _pages.popitem(last=False)
            response.headers["X-Page-Cache"] = "miss"
        return response

    return wrapped
