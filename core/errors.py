"""Domain errors and the one place that turns any error into a page or JSON."""

from __future__ import annotations

import logging
import threading
import time

import sqlalchemy as sa
from flask import Flask, g, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from core.access_log import redact_path

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the shop said no; the message is for the user, already translated."""

    status_code = 400
    code = "invalid"

    def __init__(self, message=None, *, code: str | None = None, **details) -> None:
        super().__init__(str(message) if message is not None else self.default_message())
        self.message = message if message is not None else self.default_message()
        if code:
            self.code = code
        self.details = details

    def default_message(self):
        """The message used when none is given."""
        return _l("That could not be done.")


class NotAllowed(DomainError):
    """The user may not do this."""

    status_code = 403
    code = "forbidden"

    def default_message(self):
        return _l("You do not have permission to do that.")


class NotFound(DomainError):
    """The thing asked for does not exist, or is not the user's to see."""

    status_code = 404
    code = "not_found"

    def default_message(self):
        return _l("We could not find that page.")


class Conflict(DomainError):
    """The request clashes with the current state (taken, sold out, already done)."""

    status_code = 409
    code = "conflict"


ERROR_TITLES = {
    400: _l("Something was wrong with that request"),
    403: _l("You cannot see this page"),
    404: _l("Page not found"),
    405: _l("That action is not allowed here"),
    409: _l("That could not be done"),
    413: _l("The file is too large"),
    429: _l("Too many tries"),
    500: _l("Sorry, something went wrong on our side"),
    503: _l("The shop is briefly unavailable"),
}
ERROR_MESSAGES = {
    400: _l("Please go back and try again."),
    403: _l("You do not have permission to see this page. If you think you should, "
            "ask the shop's staff."),
    404: _l("Check the address, or start again from the home page."),
    405: _l("Please go back and use the buttons on the page."),
    413: _l("Please choose a smaller file."),
    429: _l("Please wait a minute and try again."),
    500: _l("Your data is safe. Please try again in a few minutes."),
    503: _l("We cannot reach our database just now. Nothing saved before is lost. If you "
            "were sending a form, it was not saved: please send it again in a minute."),
}


def wants_json() -> bool:
    """API paths and clients that ask for JSON get JSON errors."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > \
        request.accept_mimetypes["text/html"]


def error_response(status: int, message=None, code: str | None = None):
    """Render the error as JSON or as a page in the user's language."""
    title = ERROR_TITLES.get(status, ERROR_TITLES[400 if status < 500 else 500])
    text = message if message is not None else ERROR_MESSAGES.get(status, ERROR_MESSAGES[400])
    if wants_json():
        body = {"error": {"code": code or str(status), "message": str(text)}}
        return jsonify(body), status
    return render_template("errors/error.html", status=status, title=title,
                           message=text), status


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        return error_response(error.status_code, error.message, error.code)

    @app.errorhandler(CSRFError)
    def _csrf_error(_error: CSRFError):
        return error_response(
            400, _l("This form has expired. Please go back, reload the page and send it "
                    "again."), "csrf")

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        original = getattr(error, "original_exception", None)
        if isinstance(original, sa.exc.SQLAlchemyError):
            return _database_error(original)  # the commit at the end of a request failed
        return error_response(error.code or 500, None, str(error.code))

    @app.errorhandler(sa.exc.SQLAlchemyError)
    def _database_error(error: sa.exc.SQLAlchemyError):
        if not database_unavailable(error):
            return _unexpected(error)
        if connection_lost(error):
            outage.note(error)
        else:  # busy, not gone: a deadlock, a lock wait, a full pool
            logger.warning("database busy, answered 503 on %s %s: %s", request.method,
                           redact_path(request.path), _first_line(error))
        # The page must not ask the database again (who is signed in, their language).
        g._login_user = app.login_manager.anonymous_user()
        response = make_response(error_response(503))
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        # An order's or a download's address is its key: logged as /orders/:token.
        logger.exception("unhandled error on %s %s", request.method, redact_path(request.path))
        # A failed flush leaves the request's session refusing every query until it is
        # rolled back, and the page asks it who is signed in.
        session = g.get("db_session")
        if session is not None:
            session.rollback()
        return error_response(500)

    sa.event.listen(app.extensions["database"].engine, "connect",
                    lambda *_args: outage.over())


# SQLite's errors that are about the file, not about the query; on PostgreSQL every
# OperationalError is (the server went away, refused, ran out of connections).
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open", "disk i/o error",
                       "database or disk is full")


def database_unavailable(error: BaseException) -> bool:
    """Whether the database could not be reached or used, rather than a bug in a query."""
    if isinstance(error, sa.exc.TimeoutError | sa.exc.DisconnectionError):
        return True
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, sa.exc.InterfaceError):
        return True
    if not isinstance(error, sa.exc.OperationalError):
        return False
    if type(error.orig).__module__.startswith("sqlite3"):
        return any(text in str(error.orig).lower() for text in _SQLITE_UNAVAILABLE)
    return True


# PostgreSQL's classes for "no connection": 08 connection exception, 57P operator
# intervention (shut down, starting up), 53300 too many connections.
_LOST_SQLSTATES = ("08", "57P", "53300")


def connection_lost(error: BaseException) -> bool:
    """Whether the database is gone (down, restarting, refusing), not merely busy."""
    if isinstance(error, sa.exc.DisconnectionError | sa.exc.InterfaceError):
        return True
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate is None:  # psycopg's bare OperationalError: the connect itself failed
        return not type(error.orig).__module__.startswith("sqlite3")
    return sqlstate.startswith(_LOST_SQLSTATES)


def _first_line(error: BaseException) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0][:300]


class DatabaseOutage:
    """One log line when the database goes away, one a minute while it stays away and
    one when it is back, instead of a traceback for every request in between."""

    REPEAT_SECONDS = 60

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.since: float | None = None
        self._logged_at = 0.0
        self._answered = 0

    def note(self, error: BaseException) -> None:
        """Count a request answered 503; log if this starts an outage or a minute passed."""
        reason = _first_line(error)
        with self._lock:
            now = time.monotonic()
            self._answered += 1
            if self.since is None:
                self.since, self._logged_at = now, now
                logger.error("database unavailable, answering 503 until it is back: %s",
                             reason)
            elif now - self._logged_at >= self.REPEAT_SECONDS:
                logger.error("database still unavailable after %d s (%d requests answered "
                             "503): %s", now - self.since, self._answered, reason)
                self._logged_at = now

    def over(self) -> None:
        """A new connection was made: if an outage was noted, say it ended."""
        with self._lock:
            if self.since is None:
                return
            logger.warning("database reachable again after %d s (%d requests answered 503)",
                           time.monotonic() - self.since, self._answered)
            self.since, self._answered = None, 0


outage = DatabaseOutage()
