"""CSV and spreadsheet files for income, safe to open in a spreadsheet program."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

from flask import Response
from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook

from core.money import Money

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> object:
    """Text that a spreadsheet would run as a formula is written as plain text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def yuan(fen: int) -> str:
    return str(Money(int(fen)).decimal)


def csv_response(rows: list[list], filename: str) -> Response:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # so spreadsheet programs read the Chinese as UTF-8
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return Response(buffer.getvalue(), mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


def xlsx_response(rows: list[list], filename: str, title: str) -> Response:
    """A one-sheet workbook; amounts (Decimal) and times stay numbers a sheet can add up."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(buffer.getvalue(), mimetype=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def entry_rows(entries, names: dict[int, str] | None = None) -> list[list]:
    """One row per ledger entry; amounts in yuan with two decimals."""
    from core.i18n import local_datetime

    header = ["date", "maker", "kind", "where", "item", "quantity", "amount_yuan", "currency",
              "reason"]
    rows = [header]
    for e in entries:
        rows.append([local_datetime(e.occurred_at, "short"),
                     (names or {}).get(e.maker_id, str(e.maker_id)), e.kind.value,
                     e.channel.value if e.channel else "", e.description, e.quantity,
                     yuan(e.amount), e.currency, e.reason or ""])
    return rows


SHEET_HEADER = (_l("Date"), _l("Maker"), _l("Type"), _l("Where it sold"), _l("Item"),
                _l("Quantity"), _l("Amount in yuan"), _l("Currency"), _l("Reason"))


def entry_sheet_rows(entries, names: dict[int, str] | None = None) -> list[list]:
    """The CSV's rows for people: headings and kinds in the reader's language, local
    times as dates and amounts as numbers (the CSV keeps stable codes for programs)."""
    rows = [[str(h) for h in SHEET_HEADER]]
    zone = get_timezone()
    for e in entries:
        rows.append([e.occurred_at.astimezone(zone).replace(tzinfo=None),
                     (names or {}).get(e.maker_id, str(e.maker_id)), str(e.kind.label),
                     str(e.channel.label) if e.channel else "", e.description, e.quantity,
                     Money(int(e.amount)).decimal, e.currency, e.reason or ""])
    return rows
