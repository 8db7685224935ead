"""A short-lived cache, per process and app, of storefront pages for visitors who are not signed in.

Why: a catalogue or product page costs a few database queries and a template render
(5-10 ms of CPU); most visitors are anonymous and see the same page. Keeping the
rendered page for a few seconds (CATALOG_PAGE_CACHE_SECONDS, default 5; 0 turns it off;
off in tests unless a test sets it) lets one worker serve thousands of them per second.

Pages are kept per app, address (scheme, host, path and query), language and time
zone. What is never cached: requests whose session holds anything but a CSRF token
(signed in, a cart, flashed messages) or that carry a remember-me cookie, anything but
GET, error responses, and any page whose view put anything but a CSRF token into the
session.

The buy box carries a CSRF token, and a token belongs to one visitor's session. So the
token is cut out of the page before it is stored, and every visitor served from the
cache gets a token of their own (and the session cookie that goes with it) put back
in. Serving one visitor's token to the next would make their "add to cart" fail.
A visitor who has seen one buy box carries that session from then on, holding the
token and nothing else: they are served from the cache too, with their own token.
When a page goes out of date, the next request renders it again while the others are
still served the old one (for at most one more period), so a crowd on a popular page
does not render it a hundred times at once. Stock left may be up to twice that many
seconds old on the page; the checkout decides stock in the database, never from the
page.

Pages are served from the cache by `PageCacheFront`, a WSGI layer in front of Flask
(`install`), before any request context, hook or session is made: a cached page costs
a dictionary look-up, at most one signature checked (a returning visitor's session)
and, for a buy box, one token and one session cookie signed, as Flask-WTF and Flask
would sign them. That is what lets the product page keep up with a bare Flask route. Only the
view (`cached_page`) says what may be stored; the front stores the page under the key
it made on the way in, with the headers Flask's after-request hooks gave it (a hook
added later reaches cached pages too). Anything a before-request hook should decide for
an anonymous GET of a cached page would have to move into the front.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from functools import wraps

from flask import Flask, current_app, g, request
from flask import session as web_session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.http import dump_cookie, parse_cookie

from core.cookies import SessionCookie

MAX_ENTRIES = 2000
# Stands in for the visitor's CSRF token in a stored page; cannot occur in HTML we render
# (every text is escaped, and tokens are URL-safe base64).
TOKEN_HOLE = b"\x00csrf-token\x00"
# What the front tells the view (the key it looks pages up by), and what the view
# tells the front on the way out (this page may be stored: its body, token cut out).
KEY = "gongfang.page_cache.key"
STORE = "gongfang.page_cache.store"
_NOT_STORED = {"content-length", "set-cookie", "x-page-cache"}
_lock = threading.Lock()
_pages: OrderedDict[tuple, tuple[float, bytes, tuple]] = OrderedDict()
# Pages out of date that one request is rendering again; meanwhile the others are
# served the old page for up to one more period (not a crowd of renders at once).
_refreshing: set[tuple] = set()


def clear() -> None:
    """Forget every cached page of this process (after a catalog write)."""
    with _lock:
        _pages.clear()
        _refreshing.clear()


def install(app: Flask) -> None:
    """Put the front before the app (innermost of any WSGI middleware added later)."""
    app.wsgi_app = PageCacheFront(app, app.wsgi_app)


def _seconds(app: Flask) -> int:
    return app.config.get("CATALOG_PAGE_CACHE_SECONDS", 0 if app.testing else 5)


def _anyones_session(data) -> bool:
    """True when the session holds nothing a page could show: at most a CSRF token,
    and Flask-Login's note to clear a remember-me cookie (its "strong" protection
    leaves that in the session of every visitor with a session who is not signed in)."""
    return (set(data.keys()) <= {"csrf_token", "_remember"}
            and data.get("_remember", "clear") == "clear")


def cached_page(view):
    """Let the front store `view`'s page for anonymous visitors (see the module doc)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        key = request.environ.get(KEY)
        if key is None:
            return view(*args, **kwargs)
        response = current_app.make_response(view(*args, **kwargs))
        # The session cookie is only written after the view returns, so what the view
        # put in the session is what says whether the page is anyone else's to see.
        if (response.status_code == 200 and not response.direct_passthrough
                and "Set-Cookie" not in response.headers and not current_user.is_authenticated
                and _anyones_session(web_session)):
            body = response.get_data()
            token = g.get("csrf_token")
            if token:
                body = body.replace(token.encode(), TOKEN_HOLE)
            request.environ[STORE] = body
            response.headers["X-Page-Cache"] = "miss"
        return response

    return wrapped


class PageCacheFront:
    """Serves stored pages before Flask is reached; stores what the view allows."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self.mark = secrets.token_hex(8)  # two apps of one process (tests) keep apart
        self._signers: dict = {}

    def __call__(self, environ, start_response):
        seconds = _seconds(self.app)
        if not seconds or environ.get("REQUEST_METHOD") != "GET":
            return self.wsgi_app(environ, start_response)
        cookies = parse_cookie(environ)
        if self.app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in cookies:
            return self.wsgi_app(environ, start_response)
        key = self._key(environ, cookies)
        now = time.monotonic()
        refreshing = False
        with _lock:
            entry = _pages.get(key)
            if entry is not None:
                if entry[0] > now or (key in _refreshing and entry[0] + seconds > now):
                    _pages.move_to_end(key)  # fresh, or old while another renders it
                else:
                    if key not in _refreshing:
                        _refreshing.add(key)  # this request renders it again
                        refreshing = True
                    entry = None
        if entry is not None:
            served = self._serve(entry, cookies, start_response)
            if served is not None:
                return served
        environ[KEY] = key
        try:
            return self.wsgi_app(environ, self._storing(environ, key, now + seconds,
                                                        start_response, refreshing))
        finally:
            if refreshing:
                with _lock:
                    _refreshing.discard(key)

    def _key(self, environ, cookies) -> tuple:
        from core.config import SUPPORTED_LOCALES
        from core.i18n import LANGUAGE_COOKIE, browser_locale
        from core.timezones import TIMEZONE_COOKIE, is_known_zone

        # Without an account the language comes from its cookie, else from the
        # browser's Accept-Language, and the time zone (pages show stream times) from its
        # cookie (core.i18n, core.timezones); junk values share the default's entry.
        lang = cookies.get(LANGUAGE_COOKIE)
        if lang not in SUPPORTED_LOCALES:
            lang = browser_locale(environ.get("HTTP_ACCEPT_LANGUAGE")) or ""
        zone = cookies.get(TIMEZONE_COOKIE)
        return (self.mark, environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"),
                environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""),
                environ.get("QUERY_STRING", ""), lang, zone if is_known_zone(zone) else "")

    def _storing(self, environ, key, until, start_response, refreshing):
        def start(status, headers, exc_info=None):
            body = environ.get(STORE)
            if body is not None and status.startswith("200 "):
                kept = tuple((k, v) for k, v in headers if k.lower() not in _NOT_STORED)
                with _lock:
                    if refreshing:
                        _refreshing.discard(key)
                    _pages[key] = (until, body, kept)
                    _pages.move_to_end(key)
                    while len(_pages) > MAX_ENTRIES:
                        _pages.popitem(last=False)
            return start_response(status, headers, exc_info)

        return start

    def _serve(self, entry, cookies, start_response):
        """The stored page for this visitor, or None when Flask must answer."""
        _, body, headers = entry
        interface = self.app.session_interface
        if type(interface) not in (SecureCookieSessionInterface, SessionCookie):
            return None
        name = self.app.config["SESSION_COOKIE_NAME"]
        field = self.app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        raw = None
        if cookies.get(name):
            try:
                data = self._signer("session").loads(
                    cookies[name], max_age=int(self.app.permanent_session_lifetime
                                               .total_seconds()))
            except BadSignature:
                return None  # Flask starts them a new session
            if not isinstance(data, dict) or set(data) != {field} or not isinstance(
                    data[field], str):
                return None
            raw = data[field]
        headers = list(headers)
        if TOKEN_HOLE in body:
            if raw is None:
                # This visitor's own token starts their session, as
                # flask_wtf.csrf.generate_csrf would (40 random hex digits).
                raw = secrets.token_hex(20)
                headers.append(("Set-Cookie", self._session_cookie({field: raw})))
            body = body.replace(TOKEN_HOLE, self._signer("csrf").dumps(raw).encode())
        headers += [("Content-Length", str(len(body))), ("X-Page-Cache", "hit")]
        start_response("200 OK", headers)
        return [body]

    def _signer(self, kind: str) -> URLSafeTimedSerializer:
        """Flask's session serializer (core.cookies makes it once per key) or
        Flask-WTF's token serializer, made here once per key."""
        app = self.app
        if kind == "session":
            return app.session_interface.get_signing_serializer(app)
        key = app.config.get("WTF_CSRF_SECRET_KEY", app.secret_key)
        signer = self._signers.get(key)
        if signer is None:
            if len(self._signers) > 8:  # keys rotated many times over: start again
                self._signers.clear()
            signer = self._signers[key] = URLSafeTimedSerializer(key, salt="wtf-csrf-token")
        return signer

    def _session_cookie(self, data: dict) -> str:
        """The cookie Flask's save_session would set for a new session holding `data`."""
        app, interface = self.app, self.app.session_interface
        session = interface.session_class(data)
        return dump_cookie(
            app.config["SESSION_COOKIE_NAME"], self._signer("session").dumps(dict(session)),
            expires=interface.get_expiration_time(app, session),
            httponly=interface.get_cookie_httponly(app),
            domain=interface.get_cookie_domain(app), path=interface.get_cookie_path(app),
            secure=interface.get_cookie_secure(app),
            samesite=interface.get_cookie_samesite(app),
            partitioned=interface.get_cookie_partitioned(app),
            max_size=app.config["MAX_COOKIE_SIZE"])
