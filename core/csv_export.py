"""Every CSV the shop serves, written one way.

How a CSV's columns are named (the one choice, for every download):

- The header row is the columns' **codes**: stable English snake_case
  (`order_number,placed_at,product,quantity,amount_yuan`), the same in every language
  and from one release to the next, so a program, a bank's import or a spreadsheet
  formula can rely on them. There is one header row, never two (a second row of
  headings is a data row to every program).
- People get the headings in their language beside the file, not inside it: the page
  the CSV is downloaded from lists each code with its heading (`csv_guide` in
  templates/_csv.html) and links the same file with `?headings=local`, whose one header
  row is the headings in the reader's language (for opening in WPS or Excel by hand;
  programs never ask for it). A spreadsheet download (.xlsx) is for people: its header
  row is the headings, and a companion sheet maps headings to codes
  (`columns_sheet_rows`). The personal-data ZIP carries `columns.csv` (code, heading).
- Money is yuan with two decimals (`yuan`: 128.00), times are ISO 8601 in the shop's
  zone, Asia/Shanghai (`shop_time`: 2026-12-07T20:05:00+08:00), codes of kinds stay
  codes (`sale`, `refund`); names are in the reader's language where there is one.
- A value that a spreadsheet would run as a formula (starting with = + - @, a tab or a
  carriage return) is written with a leading apostrophe (`safe_cell`).
- A byte-order mark first, so spreadsheet programs read the Chinese as UTF-8.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import Response, request

from core.money import Money

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Columns by the endpoint that serves the CSV, for the download page's guide.
_COLUMNS_BY_ENDPOINT: dict[str, Sequence[Column]] = {}


@dataclass(frozen=True)
class Column:
    """One column of a CSV: its stable code and its heading (a lazy translation)."""

    code: str
    heading: object


def columns(endpoint: str | None, *pairs: tuple[str, object]) -> tuple[Column, ...]:
    """The columns of a CSV from (code, heading) pairs; with `endpoint`, remembered for
    the guide on the page that links to it."""
    made = tuple(Column(code, heading) for code, heading in pairs)
    if endpoint:
        _COLUMNS_BY_ENDPOINT[endpoint] = made
    return made


def columns_of(endpoint: str) -> Sequence[Column]:
    """The columns registered for `endpoint` (empty when none are)."""
    return _COLUMNS_BY_ENDPOINT.get(endpoint, ())


def safe_cell(value) -> object:
    """Text that a spreadsheet would run as a formula is written as plain text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def yuan(fen: int, currency: str = "CNY") -> str:
    """An amount of fen as yuan with two decimals: 12800 -> "128.00"."""
    return str(Money(int(fen), currency).decimal)


def shop_time(value: datetime | None) -> str:
    """A stored UTC time as ISO 8601 in the shop's zone, to the second ("" for none)."""
    from core.timezones import shop_zone

    if value is None:
        return ""
    return value.astimezone(shop_zone()).isoformat(timespec="seconds")


def wants_local_headings() -> bool:
    """Whether this download asked for the headings in the reader's language."""
    return request.args.get("headings") == "local"


def header_row(cols: Sequence[Column], *, local: bool = False) -> list[str]:
    """The codes, or (`local`) the headings in the reader's language."""
    return [str(c.heading) if local else c.code for c in cols]


def csv_text(cols: Sequence[Column], rows: Iterable[Sequence], *, local: bool = False) -> str:
    """The whole file: the byte-order mark, one header row, the rows made safe."""
    buffer = io.StringIO()
    buffer.write("\ufeff")  # so spreadsheet programs read the Chinese as UTF-8
    writer = csv.writer(buffer)
    writer.writerow(header_row(cols, local=local))
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buffer.getvalue()


def csv_download(cols: Sequence[Column], rows: Iterable[Sequence], filename: str) -> Response:
    """A CSV attachment; `?headings=local` swaps the codes for the reader's headings."""
    return Response(csv_text(cols, rows, local=wants_local_headings()),
                    mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def columns_sheet_rows(cols: Sequence[Column]) -> list[list[str]]:
    """A companion table for people: each heading beside its code."""
    from flask_babel import gettext as _

    return [[_("Heading"), _("Column code")]] + [[str(c.heading), c.code] for c in cols]
