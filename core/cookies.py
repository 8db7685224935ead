"""The session cookie: Flask's own, with its signer made once per secret key.

Flask builds a new signer for the cookie twice a request (to read it, then to write
it), and building one serializes an empty dict to learn what the serializer returns.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed-cookie session, unchanged on the wire."""

    def __init__(self) -> None:
        self._signers: dict[tuple, URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        signer = self._signers.get(keys)
        if signer is None:
            signer = super().get_signing_serializer(app)
            if len(self._signers) > 8:  # keys rotated many times over: start again
                self._signers.clear()
            self._signers[keys] = signer
        return signer
