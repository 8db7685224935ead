"""CSV and spreadsheet files for income, safe to open in a spreadsheet program."""

from __future__ import annotations

import csv
import io

from flask import Response
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
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
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
