"""CSV and spreadsheet files for income, safe to open in a spreadsheet program."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal

from flask import Response
from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from sqlmodel import Session, select

from core.csv_export import (  # noqa: F401 - safe_cell and yuan are imported from here too
    Column,
    columns,
    columns_sheet_rows,
    csv_download,
    safe_cell,
    shop_time,
    yuan,
)
from core.money import Money


def csv_response(rows: list[list], filename: str) -> Response:
    """A CSV whose first row is its column codes (no headings known): see
    core/csv_export.py, whose `csv_download` new exports use."""
    cols = [Column(str(code), str(code)) for code in rows[0]] if rows else []
    return csv_download(cols, rows[1:], filename)


def xlsx_response(rows: list[list], filename: str, title: str,
                  cols: list[Column] | tuple[Column, ...] = ()) -> Response:
    """A workbook for people; amounts (Decimal) and times stay numbers a sheet can add up.
    With `cols`, a second sheet puts each heading beside the CSV's column code."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    if cols:
        guide = book.create_sheet(str(_l("Columns"))[:31])
        for row in columns_sheet_rows(cols):
            guide.append(row)
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


# The maker's and the workshop's income downloads: one row per ledger entry.
ENTRY_COLUMNS = columns(
    "income.export_income",
    ("date", _l("Date")), ("maker", _l("Maker")), ("kind", _l("Type")),
    ("where", _l("Where it sold")), ("item", _l("Item")), ("quantity", _l("Quantity")),
    ("amount_yuan", _l("Amount in yuan")), ("currency", _l("Currency")),
    ("reason", _l("Reason")))
columns("income.workshop_export", *((c.code, c.heading) for c in ENTRY_COLUMNS))


def english_items(session: Session, entries) -> dict[int, str]:
    """The English names order lines were sold under, by line, for an English reader
    (empty for a Chinese one: the entries' own names are the Chinese snapshots)."""
    from core.i18n import current_locale_name
    from shop.models import OrderLine

    ids = {e.order_line_id for e in entries if e.order_line_id}
    if current_locale_name() != "en" or not ids:
        return {}
    return {line_id: name for line_id, name in session.exec(
        select(OrderLine.id, OrderLine.product_name_en).where(OrderLine.id.in_(ids)))
        if name}


def _item(entry, items: dict[int, str] | None) -> str:
    return (items or {}).get(entry.order_line_id) or entry.description


def entry_rows(entries, names: dict[int, str] | None = None,
               items: dict[int, str] | None = None) -> list[list]:
    """One row per ledger entry (ENTRY_COLUMNS): times in the shop's zone (ISO 8601),
    amounts in yuan with two decimals, kinds as codes; `items` names lines in English."""
    return [[shop_time(e.occurred_at), (names or {}).get(e.maker_id, str(e.maker_id)),
             e.kind.value, e.channel.value if e.channel else "", _item(e, items), e.quantity,
             yuan(e.amount, e.currency), e.currency, e.reason or ""] for e in entries]


def entry_sheet_rows(entries, names: dict[int, str] | None = None,
                     items: dict[int, str] | None = None) -> list[list]:
    """The CSV's rows for people: headings and kinds in the reader's language, local
    times as dates and amounts as numbers (the CSV keeps stable codes for programs)."""
    rows = [[str(c.heading) for c in ENTRY_COLUMNS]]
    zone = get_timezone()
    for e in entries:
        rows.append([e.occurred_at.astimezone(zone).replace(tzinfo=None),
                     (names or {}).get(e.maker_id, str(e.maker_id)), str(e.kind.label),
                     str(e.channel.label) if e.channel else "", _item(e, items), e.quantity,
                     Money(int(e.amount)).decimal, e.currency, e.reason or ""])
    return rows
