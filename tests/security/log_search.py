"""Catch every log record and every error page of a journey, and find what must not be
in them: the tools of tests/security/test_logs.py."""

from __future__ import annotations

import logging
import re

from flask.testing import FlaskClient

# Attributes every LogRecord has; anything else came in through `extra=` and is written
# out too, since a handler (JSON logs, Sentry) would send it on.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class EveryRecord(logging.Handler):
    """Keeps each record as a handler would write it: message, traceback, stack, extras."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Format the record now, while its arguments are what they were."""
        extras = " ".join(f"{key}={value!r}" for key, value in vars(record).items()
                          if key not in _STANDARD)
        self.lines.append(f"{self.format(record)} {extras}".rstrip())


def listen(handler: EveryRecord) -> callable:
    """Hear every logger at DEBUG, those that do not pass records to the root as well;
    returns what puts things back."""
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # SQLAlchemy keeps its own loggers at WARNING; at INFO (what `echo` turns on) it logs
    # every statement, which must hold no values either.
    statements = logging.getLogger("sqlalchemy.engine")
    statements_level = statements.level
    statements.setLevel(logging.INFO)
    private = [logger for logger in logging.Logger.manager.loggerDict.values()
               if isinstance(logger, logging.Logger) and not logger.propagate]
    for logger in private:
        logger.addHandler(handler)

    def stop() -> None:
        root.removeHandler(handler)
        root.setLevel(level)
        statements.setLevel(statements_level)
        for logger in private:
            logger.removeHandler(handler)
    return stop


class RecordingClient(FlaskClient):
    """The test client, keeping the body of every answer of 400 or more."""

    error_pages: list[tuple[int, str, str]]

    def open(self, *args, **kwargs):
        """As FlaskClient.open; an error answer's status, path and body are kept."""
        response = super().open(*args, **kwargs)
        if response.status_code >= 400:
            self.error_pages.append((response.status_code, response.request.full_path,
                                     response.get_data(as_text=True)))
        return response


def found(markers: dict[str, str], texts: list[str]) -> dict[str, list[str]]:
    """Each marker with the texts it appears in (none, when nothing leaked)."""
    leaks: dict[str, list[str]] = {}
    for name, value in markers.items():
        pattern = re.compile(re.escape(value), re.IGNORECASE)
        hits = [text[:600] for text in texts if pattern.search(text)]
        if hits:
            leaks[name] = hits
    return leaks


# What an error page must never show, whatever caused it.
INTERNALS = ("Traceback", "sqlalchemy", "psycopg", "sqlite3", "IntegrityError",
             "[SQL:", "INSERT INTO", "SELECT ", "Werkzeug Debugger", 'File "')
