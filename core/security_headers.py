"""The headers every answer carries: the Content-Security-Policy, HSTS over HTTPS, and
the older framing, sniffing, referrer and permission headers.

Pages may run only the shop's own scripts and styles (static/), the scripts a page
marks with this request's nonce (`nonce="{{ csp_nonce() }}"`), Stripe.js when cards are
on, and the player's sources: hls.js from static/, the live edge's playlists and events,
`blob:` for Media Source Extensions and hls.js's worker. Style attributes are refused
outright (a nonce cannot mark them): styles live in static/css.

An operator may point a session at a stream or recording on another host; the page
that plays it lists the address with the `csp_media` filter, which lets that origin's
media (and hls.js's requests for it) in on that page only.

JSON answers get a policy that lets nothing load or frame them. Other files (CSS, JS,
pictures, video, downloads) carry no policy of their own: a policy on a PDF stops
Chromium's viewer, and these files are never documents that run our scripts.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request

HSTS = "max-age=31536000; includeSubDomains"
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Nothing the shop does needs a camera, microphone or position: presenters push from
# OBS or a phone app to the live edge, never from the browser.
PERMISSIONS = ("camera=(), microphone=(), geolocation=(), usb=(), serial=(), hid=(), "
               "midi=(), display-capture=()")
# Stripe's hosts for Stripe.js and the Card Element (docs.stripe.com/security/guide,
# "Content Security Policy"): its script and frames, 3-D Secure's frames at hooks, its API.
STRIPE_HOSTS = {
    "script-src": ("https://js.stripe.com", "https://*.js.stripe.com"),
    "frame-src": ("https://js.stripe.com", "https://*.js.stripe.com",
                  "https://hooks.stripe.com"),
    "connect-src": ("https://api.stripe.com",),
    "img-src": ("https://*.stripe.com",),
}


def init_app(app: Flask) -> None:
    """Give templates `csp_nonce()` and `csp_media`, and every answer its headers."""
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.add_template_filter(csp_media, "csp_media")
    app.after_request(_add_headers)


def csp_nonce() -> str:
    """This request's nonce for an inline <script> or <style> (one per request)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def csp_media(address: str | None) -> str | None:
    """The address unchanged; its origin may serve this page's media and playlists."""
    origin = _origin(address)
    if origin:
        g.setdefault("csp_media_origins", set()).add(origin)
    return address


def page_policy(extra_media: set[str] | frozenset[str] = frozenset(),
                nonce: str | None = None) -> str:
    """The Content-Security-Policy of an HTML page, for this app's settings."""
    sources = _configured_sources(current_app)
    nonced = (f"'nonce-{nonce}'",) if nonce else ()
    media = tuple(sorted(extra_media))
    directives = {
        "default-src": ("'self'",),
        "script-src": ("'self'", *nonced, *sources["script-src"]),
        "style-src": ("'self'", *nonced),
        "img-src": ("'self'", "data:", "blob:", *sources["img-src"]),
        "font-src": ("'self'",),
        "media-src": ("'self'", "blob:", *sources["media-src"], *media),
        "connect-src": ("'self'", *sources["connect-src"], *media),
        "frame-src": ("'self'", *sources["frame-src"]),
        "worker-src": ("'self'", "blob:"),
        "object-src": ("'none'",),
        "base-uri": ("'self'",),
        "form-action": ("'self'",),
        "frame-ancestors": ("'self'",),
    }
    return "; ".join(f"{name} {' '.join(_unique(values))}"
                     for name, values in directives.items())


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        # Only over HTTPS: a browser ignores it on http, and a development box served
        # on plain http must never be told to refuse http for a year.
        headers.setdefault("Strict-Transport-Security", HSTS)
    if "Content-Security-Policy" in headers:
        return response
    mimetype = response.mimetype or ""
    if mimetype == "text/html":
        headers["Content-Security-Policy"] = page_policy(
            g.get("csp_media_origins", frozenset()), g.get("csp_nonce"))
        headers.setdefault("Permissions-Policy", PERMISSIONS)
    elif mimetype == "application/json" or mimetype.endswith("+json"):
        headers["Content-Security-Policy"] = JSON_POLICY
    return response


def _configured_sources(app: Flask) -> dict[str, tuple[str, ...]]:
    """Sources the settings add, worked out once per set of settings."""
    key = (app.config.get("STRIPE_SECRET_KEY") is not None,
           app.config.get("STRIPE_JS_URL"), app.config.get("STRIPE_API_BASE"),
           app.config.get("LIVE_EDGE_PUBLIC_URL"))
    cache = app.extensions.setdefault("security_headers", {})
    found = cache.get(key)
    if found is None:
        found = cache[key] = _sources(*key)
    return found


def _sources(cards_on: bool, stripe_js_url: str | None, stripe_api_base: str | None,
             edge_public_url: str | None) -> dict[str, tuple[str, ...]]:
    sources: dict[str, list[str]] = {name: [] for name in
                                     ("script-src", "frame-src", "connect-src", "img-src",
                                      "media-src")}
    if cards_on:
        for name, hosts in STRIPE_HOSTS.items():
            sources[name].extend(hosts)
        # Tests and development point Stripe.js and the API at localstripe, which
        # serves its stand-in Stripe.js and answers it from its own origin.
        for origin in filter(None, (_origin(stripe_js_url), _origin(stripe_api_base))):
            for name in ("script-src", "frame-src", "connect-src"):
                sources[name].append(origin)
    edge = _origin(edge_public_url)
    if edge:  # playlists and segments (hls.js fetches them), Nchan's event streams
        sources["media-src"].append(edge)
        sources["connect-src"].append(edge)
    return {name: tuple(_unique(values)) for name, values in sources.items()}


def _origin(address: str | None) -> str | None:
    """scheme://host[:port] of an absolute http(s) address, else None (same origin)."""
    if not address:
        return None
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}".lower()


def _unique(values) -> list[str]:
    return list(dict.fromkeys(values))
