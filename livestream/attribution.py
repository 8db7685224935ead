"""Which live room a purchase came from, and who watched.

A room sets two cookies (both HttpOnly, SameSite=Lax; README, "Cookies"):
- `gf_live` = "<session id>.<unix time>": the room this browser watched last and when.
  An order placed within 30 minutes of that carries the session on its lines for the
  products the session presents, so the maker ledger, the impact report and the stream
  report count it as sold in the stream. It is refreshed while the room stays open.
- `gf_viewer`: a random id, only so that one browser counts once in a session's
  "total viewers" (signed-in viewers count by account).
"""

from __future__ import annotations

import secrets
import time

from flask import Request, Response, current_app
from sqlmodel import Session, select

LIVE_COOKIE = "gf_live"
VIEWER_COOKIE = "gf_viewer"
ATTRIBUTION_SECONDS = 30 * 60
VIEWER_COOKIE_DAYS = 365


def watched_session(request: Request, now: float | None = None) -> int | None:
    """The session this browser watched within the last 30 minutes, if any."""
    raw = request.cookies.get(LIVE_COOKIE, "")
    session_text, _dot, stamp = raw.partition(".")
    if not (session_text.isdecimal() and stamp.isdecimal()) or len(raw) > 40:
        return None
    age = (now or time.time()) - int(stamp)
    return int(session_text) if 0 <= age <= ATTRIBUTION_SECONDS else None


def viewer_key(request: Request, user) -> tuple[str, str | None]:
    """(the key one viewer counts by, a new browser id to set or None)."""
    if user is not None and getattr(user, "is_authenticated", False):
        return f"u:{user.id}", None
    known = request.cookies.get(VIEWER_COOKIE, "")
    if 16 <= len(known) <= 40 and known.replace("-", "").replace("_", "").isalnum():
        return f"b:{known}", None
    fresh = secrets.token_urlsafe(18)
    return f"b:{fresh}", fresh


def mark_watching(response: Response, live_id: int, new_viewer_id: str | None) -> Response:
    """Set (or refresh) the room's cookies on a response of the room."""
    secure = current_app.config.get("SESSION_COOKIE_SECURE", False)
    response.set_cookie(LIVE_COOKIE, f"{live_id}.{int(time.time())}",
                        max_age=ATTRIBUTION_SECONDS, httponly=True, samesite="Lax",
                        secure=secure)
    if new_viewer_id:
        response.set_cookie(VIEWER_COOKIE, new_viewer_id,
                            max_age=VIEWER_COOKIE_DAYS * 86400, httponly=True,
                            samesite="Lax", secure=secure)
    return response


def session_presenting(session: Session, *, variant_id: int, session_id: int | None) -> int | None:
    """`session_id` if that session presents the variant's product (else None): a line
    is only ever credited to a stream that showed it, whatever a form or cookie says."""
    if session_id is None:
        return None
    from catalog.models import ProductVariant
    from livestream.models import LiveSessionProduct

    found = session.exec(
        select(LiveSessionProduct.session_id)
        .join(ProductVariant, ProductVariant.product_id == LiveSessionProduct.product_id)
        .where(LiveSessionProduct.session_id == session_id,
               ProductVariant.id == variant_id)).first()
    return session_id if found is not None else None
