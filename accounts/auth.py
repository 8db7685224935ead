"""Sign-in plumbing: Flask-Login, password hashing and reset tokens."""

from __future__ import annotations

from flask import Flask, current_app, has_app_context, request, session
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from accounts.models import User
from core.db import get_session


class _LoginManager(LoginManager):
    """Flask-Login's strong session protection, for sessions that hold a sign-in.

    Out of the box (0.6) it also judged every anonymous visitor's session (a cart, a
    checkout): it found no sign-in to compare and answered by re-sending their session
    cookie and an order to delete a remember-me cookie, on every page. And a sign-in
    restored from the remember-me cookie got no browser identifier, so the next page
    signed the visitor out and deleted the cookie: "remember me" lasted one page after
    the browser closed (Flask-Login issues 248, 569, 685). A session cookie that
    carries a sign-in to another browser is still refused, and its sign-in dropped.
    """

    def _session_protection_failed(self):
        if "_user_id" not in session:
            return False  # nobody is signed in with this session: nothing to protect
        return super()._session_protection_failed()

    def _load_user_from_remember_cookie(self, cookie):
        user = super()._load_user_from_remember_cookie(cookie)
        if user is not None:
            # Tie the restored sign-in to this browser, as signing in does.
            session["_id"] = self._session_identifier_generator()
        return user


login_manager = _LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Please sign in to see that page.")
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"

# Checked when an account does not exist, so a wrong address takes as long as a
# wrong password and the two cannot be told apart by timing.
_DUMMY_HASH = generate_password_hash("not-a-real-password")
_RESET_SALT = "password-reset"


def hash_password(password: str) -> str:
    """A salted hash (Werkzeug's scrypt; the test suite picks a cheaper method)."""
    method = current_app.config.get("PASSWORD_HASH_METHOD") if has_app_context() else None
    return generate_password_hash(password, method=method or "scrypt")


def password_matches(user: User | None, password: str) -> bool:
    """Compare in constant time whether or not the user exists."""
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(user.password_hash, password)


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_RESET_SALT)


def make_reset_token(user: User) -> str:
    """A signed token naming the user and their current password hash, so it stops
    working the moment the password changes (used once)."""
    return _reset_serializer().dumps({"user": user.id, "hash": user.password_hash[-16:]})


def user_for_reset_token(token: str) -> User | None:
    """The user the token was made for, or None if it is forged, expired or used."""
    try:
        data = _reset_serializer().loads(
            token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("user"), int):
        return None
    user = get_session().get(User, data["user"])
    if user is None or user.password_hash[-16:] != data.get("hash") or not user.is_active:
        return None
    return user


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    user = get_session().get(User, int(user_id))
    return user if user is not None and user.is_active else None


def init_app(app: Flask) -> None:
    """Bind Flask-Login."""
    login_manager.init_app(app)

    @login_manager.unauthorized_handler
    def _unauthorized():
        from flask import flash, redirect, url_for

        from core.errors import error_response, wants_json

        if wants_json():
            return error_response(401, _l("Please sign in."), "unauthorized")
        flash(login_manager.login_message, "info")
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
