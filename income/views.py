"""The maker's easy-read income pages, the coordinator's workshop view, exports, API."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import (
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    get_minus_sign_symbol,
)
from flask import Blueprint, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlmodel import select

from accounts.access import has_role
from accounts.models import Role
from core.db import get_session, utcnow
from core.errors import NotAllowed
from core.i18n import current_locale_name
from core.money import Money
from core.navigation import add_audience, add_nav, add_operator_link
from income import queries as q
from income.access import (
    coordinated_workshops,
    maker_for,
    parse_month,
    parse_range,
    workshop_for,
)
from income.exports import (
    ENTRY_COLUMNS,
    csv_download,
    english_items,
    entry_rows,
    entry_sheet_rows,
    xlsx_response,
    yuan,
)

bp = Blueprint("income", __name__)


STALL_KEEPER = "stall_keeper"  # a navigation audience: people who run a sales point


def _keeps_a_stall() -> bool:
    from income.models import SalesPointMember

    return get_session().exec(select(SalesPointMember.user_id).where(
        SalesPointMember.user_id == current_user.id).limit(1)).first() is not None


def register_navigation() -> None:
    """The maker's income link, and the operator's payouts and impact report."""
    add_nav("income.my_income", _l("My income"), audience="maker", order=70)
    add_audience(STALL_KEEPER, _keeps_a_stall)
    add_nav("income.my_stalls", _l("My stall"), audience=STALL_KEEPER, order=78)
    add_operator_link("income.operator_payouts", _l("Payouts to makers"), order=30)
    add_operator_link("income.impact_report", _l("Impact report"), order=40)
    add_operator_link("income.operator_sales_points", _l("Sales points (stalls)"), order=45)
    add_operator_link("income.operator_commission", _l("Platform fee"), order=46)
    add_operator_link("income.operator_studios", _l("Studios selling for others"), order=47)


@lru_cache(maxsize=32)
def _money_symbols(locale_name: str, currency: str) -> tuple[str, str, str, str]:
    locale = Locale.parse(locale_name)
    return (get_currency_symbol(currency, locale), get_group_symbol(locale),
            get_decimal_symbol(locale), get_minus_sign_symbol(locale))


@bp.app_template_global()
def plain_money(fen, currency: str = "CNY") -> str:
    """¥1,280 for whole yuan, ¥1,280.50 otherwise: easier to read than ¥1,280.00.

    Babel's `format_currency(value, format="¤#,##0(.00)")` gives the same text (a test
    holds them equal), but it parses the pattern and the locale on every call, and a
    dashboard shows a hundred amounts; here the locale's symbols are looked up once.
    """
    money = Money(int(fen or 0), currency)
    symbol, group, decimal, minus = _money_symbols(current_locale_name(), currency)
    value = abs(money.decimal)
    digits = f"{value:,.0f}" if money.amount % 100 == 0 else f"{value:,.2f}"
    digits = digits.translate({ord(","): group, ord("."): decimal})
    return f"{minus if money.amount < 0 else ''}{symbol}{digits}"


@bp.app_template_filter()
def income_date(value) -> str:
    """The full date in the reader's language: 2026年12月8日 / 8 December 2026."""
    if isinstance(value, datetime):
        value = value.astimezone(q.local_zone()).date()
    return format_date(value, format="long", locale=current_locale_name())


@bp.app_template_filter()
def income_month(period) -> str:
    """A month as people say it: 2026年12月 / December 2026 (not 2026-12)."""
    return format_skeleton("yMMMM", period.first, locale=current_locale_name())


def _now() -> datetime:
    return utcnow()


def _dashboard_context(maker_id: int):
    session = get_session()
    maker = maker_for(session, maker_id)
    period = parse_month(request.args.get("month"), q.this_month())
    now = _now()
    board = q.dashboard(session, maker, period, now)
    previous, following = q.month_links(session, maker, period, now)
    return {"board": board, "is_self": maker.id == current_user.id,
            "this_month_key": q.this_month(now).month_key,
            "previous_month": previous, "next_month": following,
            "workshops": coordinated_workshops(session, current_user.id)}


@bp.route("/income")
@login_required
def my_income():
    """The maker's own month, in plain words."""
    if not has_role(Role.MAKER):
        raise NotAllowed()
    return render_template("income/dashboard.html", **_dashboard_context(current_user.id))


@bp.route("/income/makers/<int:maker_id>")
@login_required
def maker_income(maker_id: int):
    """A maker's month, for their coordinator or an operator (404 for anyone else)."""
    return render_template("income/dashboard.html", **_dashboard_context(maker_id))


def _export(maker_id: int, kind: str):
    session = get_session()
    maker = maker_for(session, maker_id)
    period = parse_range(request.args.get("from"), request.args.get("to"), q.this_month())
    entries = q.entries(session, [maker.id], period)
    names = {maker.id: maker.display_name}
    items = english_items(session, entries)
    name = f"income-{maker.id}-{period.first.isoformat()}-{period.last.isoformat()}"
    if kind == "xlsx":
        return xlsx_response(entry_sheet_rows(entries, names, items), f"{name}.xlsx",
                             "income", ENTRY_COLUMNS)
    return csv_download(ENTRY_COLUMNS, entry_rows(entries, names, items), f"{name}.csv")


@bp.route("/income/makers/<int:maker_id>/income.<any(csv, xlsx):kind>")
@login_required
def export_income(maker_id: int, kind: str):
    """The maker's entries for a period (a year at most) as CSV or a spreadsheet."""
    return _export(maker_id, kind)


@bp.route("/income/makers/<int:maker_id>/statement/<month>")
@login_required
def statement(maker_id: int, month: str):
    """A printable monthly statement."""
    session = get_session()
    maker = maker_for(session, maker_id)
    period = parse_month(month, q.this_month())
    figures = q.statement(session, maker.id, period)
    board = q.dashboard(session, maker, period, _now())
    return render_template("income/statement.html", maker=maker, period=period,
                           figures=figures, board=board,
                           workshops=q.maker_workshops(session, maker.id))


@bp.route("/api/income/makers/<int:maker_id>")
@login_required
def api_maker(maker_id: int):
    """The dashboard's figures as JSON (fen, integers)."""
    session = get_session()
    maker = maker_for(session, maker_id)
    period = parse_month(request.args.get("month"), q.this_month())
    board = q.dashboard(session, maker, period, _now())
    return jsonify({
        "maker_id": maker.id, "month": period.month_key, "currency": "CNY",
        "earned": board.earned, "earned_last_month": board.earned_before,
        "available": board.available, "balance": board.total,
        "gross": board.split.gross, "platform_fee": board.split.fee,
        "studio_fee": board.split.studio_fee,
        "share": board.split.share, "corrections": board.split.corrections,
        "products": [{"product_id": p.product_id, "name": p.title, "name_en": p.title_en,
                      "quantity": p.quantity, "amount": p.amount} for p in board.products],
        "places": [{"channel": p.channel.value if p.channel else None, "name": p.title,
                    "name_en": p.title_en, "amount": p.amount} for p in board.places],
        "on_the_way": [{"date": d.isoformat(), "amount": a} for d, a in board.on_the_way],
        "payouts": [{"amount": p.amount, "paid_at": p.paid_at.isoformat(),
                     "method": p.method.value} for p in board.payouts],
    })


@bp.route("/income/workshops/<int:workshop_id>")
@login_required
def workshop_income(workshop_id: int):
    """Every member's income and the workshop's totals, for its coordinator."""
    session = get_session()
    workshop = workshop_for(session, workshop_id)
    period = parse_month(request.args.get("month"), q.this_month())
    members = q.workshop_members(session, workshop.id, period)
    # Goods it sold as a studio for other workshops, and goods studios sold for it.
    as_seller = q.studio_parts(session, period, studio_id=workshop.id)
    for_us = q.studio_parts(session, period, workshop_id=workshop.id)
    return render_template("income/workshop.html", workshop=workshop, period=period,
                           members=members, total_month=sum(m[1] for m in members),
                           total_balance=sum(m[2] for m in members),
                           as_seller=as_seller, as_seller_totals=q.studio_totals(as_seller),
                           for_us=for_us, for_us_totals=q.studio_totals(for_us))


@bp.route("/income/workshops/<int:workshop_id>/income.csv")
@login_required
def workshop_export(workshop_id: int):
    session = get_session()
    workshop = workshop_for(session, workshop_id)
    period = parse_range(request.args.get("from"), request.args.get("to"), q.this_month())
    members = q.workshop_members(session, workshop.id, period)
    names = {m.id: m.display_name for m, _a, _b in members}
    entries = [e for e in q.entries(session, list(names), period)
               if e.workshop_id in (None, workshop.id)]
    rows = entry_rows(entries, names, english_items(session, entries))
    return csv_download(ENTRY_COLUMNS, rows,
                        f"workshop-{workshop.id}-{period.first.isoformat()}.csv")


@bp.route("/api/income/workshops/<int:workshop_id>")
@login_required
def api_workshop(workshop_id: int):
    session = get_session()
    workshop = workshop_for(session, workshop_id)
    period = parse_month(request.args.get("month"), q.this_month())
    members = q.workshop_members(session, workshop.id, period)
    return jsonify({"workshop_id": workshop.id, "month": period.month_key,
                    "members": [{"maker_id": m.id, "name": m.display_name, "earned": e,
                                 "balance": b} for m, e, b in members],
                    "earned": sum(m[1] for m in members)})


def comparison_words(now_fen: int, before_fen: int) -> tuple[str, str]:
    """("up"|"down"|"same", amount text) for "比上月多 ¥200"."""
    diff = now_fen - before_fen
    return ("up" if diff > 0 else "down" if diff < 0 else "same", plain_money(abs(diff)))


bp.add_app_template_global(comparison_words)
bp.add_app_template_global(yuan)
