"""Whole numbers in URLs (`<int:...>`) stop at the largest id the database holds.

PostgreSQL's integer ids end at 2**31 - 1 and SQLite's at 2**63 - 1; a larger number in
an address (a typo, a scanner) made the query itself fail with a 500. With this
converter it matches no route and is answered 404, like any other id that is not there.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

LARGEST_ID = 2**31 - 1


class DatabaseIdConverter(IntegerConverter):
    """`int`, bounded to what an id column can hold."""

    def __init__(self, map, fixed_digits=0, min=None, max=LARGEST_ID,  # noqa: A002
                 signed=False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def install(app: Flask) -> None:
    """Use the bounded converter for every `<int:...>` added from now on."""
    app.url_map.converters["int"] = DatabaseIdConverter
