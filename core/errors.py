"""Domain errors and the one place that turns any error into a page or JSON."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

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
        return error_response(error.code or 500, None, str(error.code))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500)
