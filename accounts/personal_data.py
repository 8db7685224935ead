"""Everything the shop holds about one person, as one ZIP file they can open.

Why a ZIP of an HTML page, a JSON file and CSV files: the page opens by a tap in any
phone's or computer's browser and reads like a statement (headings and tables in the
person's language); the CSV files open in WPS or Excel (with a byte-order mark, so
the Chinese reads right); the JSON is the same data for another service to take in
(PIPL art. 45, portability). A ZIP is the one container every phone and computer
opens without installing anything.

Only rows that belong to the person are read: their account, orders (signed in, or as
a guest with their e-mail address), messages, and, for a maker, their own ledger
entries, payouts and statements; never a buyer's details from a maker's order lines.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime

import sqlalchemy as sa
from flask import render_template
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from accounts.consent import consents_of
from accounts.models import (
    HostCapability,
    HostProfile,
    MakerProfile,
    User,
    UserRole,
    Workshop,
    WorkshopMember,
)
from catalog.models import Product, ProductVariant
from core.csv_export import Column, csv_text, yuan
from core.db import utcnow
from core.mail import OutboxMail
from core.timezones import user_zone_name
from income.models import LedgerEntry, MonthlyStatement, Payout
from livestream.models import LiveSession, Notice, ReminderRequest
from livestream.room_models import LiveMessage
from shop.models import CartItem, Order, OrderLine, Refund

SECTION_TITLES = {
    "profile": _l("Your account"),
    "roles": _l("Your roles"),
    "workshops": _l("Workshops you belong to"),
    "maker_profile": _l("Your maker profile"),
    "host_profile": _l("Your host profile"),
    "host_qualifications": _l("Your host qualifications"),
    "consents": _l("What you agreed to"),
    "addresses": _l("Addresses you gave"),
    "orders": _l("Your orders"),
    "order_lines": _l("What you bought"),
    "refunds": _l("Money given back to you"),
    "messages": _l("Questions and messages you wrote in live rooms"),
    "reminders": _l("Live streams you asked to be reminded of"),
    "notices": _l("Notices to you"),
    "mail": _l("Mail we sent you"),
    "cart": _l("Your cart"),
    "income": _l("Your income, line by line"),
    "payouts": _l("Money paid to you"),
    "statements": _l("Your monthly statements"),
}


# Column names as the page and the CSV files show them; the JSON keeps the keys.
COLUMN_LABELS = {
    "account_number": _l("Account number"),
    "name": _l("Name"),
    "email": _l("Email address"),
    "mobile": _l("Mobile number"),
    "language": _l("Language"),
    "time_zone": _l("Time zone"),
    "joined_at": _l("Joined"),
    "last_signed_in_at": _l("Last signed in"),
    "role": _l("Role"),
    "granted_at": _l("Given on"),
    "workshop": _l("Workshop"),
    "coordinator": _l("Coordinator"),
    "public_name": _l("Name shown to others"),
    "story": _l("Story"),
    "story_in_english": _l("Story in English"),
    "photo": _l("Photo"),
    "show_name_publicly": _l("Name shown on products"),
    "show_story_publicly": _l("Story shown on maker page"),
    "disability_category": _l("Disability category"),
    "district": _l("District"),
    "updated_at": _l("Last changed"),
    "about": _l("About you"),
    "deaf_presenter": _l("Deaf presenter"),
    "sign_language": _l("Sign language"),
    "level": _l("Level"),
    "category": _l("Kind of information"),
    "given_at": _l("Given on"),
    "withdrawn_at": _l("Withdrawn on"),
    "contact_name": _l("Contact name"),
    "address": _l("Address"),
    "first_used_in_order": _l("First used in order"),
    "order": _l("Order"),
    "placed_at": _l("Placed on"),
    "status": _l("Status"),
    "payment": _l("Payment"),
    "delivery": _l("Delivery"),
    "pickup_point": _l("Pick-up point"),
    "total_yuan": _l("Total (yuan)"),
    "paid_yuan": _l("Paid (yuan)"),
    "refunded_yuan": _l("Given back (yuan)"),
    "currency": _l("Currency"),
    "paid_at": _l("Paid on"),
    "product": _l("Product"),
    "product_in_english": _l("Product in English"),
    "variant": _l("Variant"),
    "variant_in_english": _l("Variant in English"),
    "sku": _l("Product code"),
    "quantity": _l("Quantity"),
    "unit_price_yuan": _l("Price each (yuan)"),
    "line_total_yuan": _l("Line total (yuan)"),
    "refunded_quantity": _l("Quantity given back"),
    "amount_yuan": _l("Amount (yuan)"),
    "did_not_go_through_at": _l("Did not go through on"),
    "live_stream": _l("Live stream"),
    "sent_at": _l("Sent on"),
    "question": _l("Question"),
    "text": _l("Text"),
    "answer": _l("Answer"),
    "hidden_by_the_shop": _l("Hidden by the shop"),
    "asked_at": _l("Asked on"),
    "subject": _l("Subject"),
    "read_at": _l("Read on"),
    "written_at": _l("Written on"),
    "added_at": _l("Added on"),
    "date": _l("Date"),
    "kind": _l("Kind"),
    "where": _l("Where sold"),
    "what": _l("What it was for"),
    "reason": _l("Reason"),
    "available_from": _l("Can be paid out from"),
    "method": _l("How"),
    "reference": _l("Reference"),
    "made_at": _l("Made on"),
    "month": _l("Month"),
    "opening_yuan": _l("At the start (yuan)"),
    "earned_yuan": _l("Earned (yuan)"),
    "paid_out_yuan": _l("Paid to you (yuan)"),
    "closing_yuan": _l("At the end (yuan)"),
}


def _value_labels() -> dict[str, dict]:
    """For the page and the CSV files: the words a code stands for, in the reader's
    language (the JSON keeps the codes, for other services to read)."""
    from accounts.forms import MakerProfileForm
    from accounts.models import HOST_ROLE_LABELS, ROLE_LABELS, SIGN_LANGUAGE_LABELS
    from core.i18n import LANGUAGE_NAMES
    from income.models import ENTRY_LABELS
    from shop.models import STATUS_LABELS

    codes = {**ENTRY_LABELS, **STATUS_LABELS}
    disability = {choice.value: choice.label for choice in
                  MakerProfileForm.disability_category.kwargs["choices"] if choice.value}
    return {"role": {**ROLE_LABELS, **HOST_ROLE_LABELS}, "sign_language": SIGN_LANGUAGE_LABELS,
            "language": LANGUAGE_NAMES, "disability_category": disability,
            "category": {"disability": _l("Disability category")},
            "kind": codes, "where": codes, "method": codes, "status": codes,
            "payment": codes, "delivery": codes}


def shown(labels: dict[str, dict], column: str, value):
    """A value as the page and the CSV show it: words for a code, a time without the
    "T" of ISO 8601 ("2026-12-07 19:50+08:00")."""
    if isinstance(value, bool):
        return str(_l("Yes") if value else _l("No"))
    if isinstance(value, str) and value:
        if value in labels.get(column, {}):
            return str(labels[column][value])
        if _ISO_TIME.fullmatch(value):
            return value.replace("T", " ")
    return value


_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}[+-]\d{2}:\d{2}")


def _when(value: datetime | None, zone) -> str:
    return value.astimezone(zone).isoformat(timespec="minutes") if value else ""


def _address(order: Order) -> str:
    return " ".join(part for part in (order.province, order.city, order.district,
                                      order.street) if part)


def collect(session: Session, user: User) -> dict[str, list[dict]]:
    """Every section of the person's data: {section: [row, ...]}, rows as plain values."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(user_zone_name(user))
    data: dict[str, list[dict]] = {key: [] for key in SECTION_TITLES}
    data["profile"] = [{
        "account_number": user.id, "name": user.display_name, "email": user.email,
        "mobile": user.phone or "", "language": user.locale, "time_zone": user.timezone or "",
        "joined_at": _when(user.created_at, zone),
        # Only the latest sign-in is kept, never a history of them.
        "last_signed_in_at": _when(user.last_login_at, zone)}]
    data["roles"] = [{"role": row.role.value, "granted_at": _when(row.granted_at, zone)}
                     for row in session.exec(select(UserRole).where(
                         UserRole.user_id == user.id).order_by(UserRole.id))]
    data["workshops"] = [
        {"workshop": workshop.name, "coordinator": member.is_coordinator,
         "joined_at": _when(member.joined_at, zone)}
        for member, workshop in session.exec(
            select(WorkshopMember, Workshop)
            .join(Workshop, Workshop.id == WorkshopMember.workshop_id)
            .where(WorkshopMember.user_id == user.id).order_by(Workshop.name))]
    if (maker := session.get(MakerProfile, user.id)) is not None:
        data["maker_profile"] = [{
            "public_name": maker.public_name, "story": maker.story,
            "story_in_english": maker.story_en or "", "photo": maker.photo_path or "",
            "show_name_publicly": maker.show_name_publicly,
            "show_story_publicly": maker.show_story_publicly,
            "disability_category": maker.disability_category or "",
            "district": maker.district or "", "updated_at": _when(maker.updated_at, zone)}]
    if (host := session.get(HostProfile, user.id)) is not None:
        data["host_profile"] = [{"public_name": host.public_name, "about": host.bio,
                                 "deaf_presenter": host.is_deaf,
                                 "updated_at": _when(host.updated_at, zone)}]
    data["host_qualifications"] = [
        {"role": c.role.value, "sign_language": c.sign_language.value if c.sign_language else "",
         "level": c.level}
        for c in session.exec(select(HostCapability).where(HostCapability.user_id == user.id)
                              .order_by(HostCapability.id))]
    data["consents"] = [{"category": c.category, "given_at": _when(c.given_at, zone),
                         "withdrawn_at": _when(c.withdrawn_at, zone)}
                        for c in consents_of(session, user.id)]
    _orders(session, user, zone, data)
    _live(session, user, zone, data)
    _income(session, user, zone, data)
    return data


def _orders(session: Session, user: User, zone, data: dict) -> None:
    orders = session.exec(select(Order).where(sa.or_(
        Order.user_id == user.id, sa.func.lower(Order.email) == user.email))
        .order_by(Order.created_at, Order.id)).all()
    seen = set()
    for order in orders:
        address = _address(order)
        data["orders"].append({
            "order": order.number, "placed_at": _when(order.created_at, zone),
            "status": order.status.value, "payment": order.payment_status.value,
            "delivery": order.delivery_method.value, "contact_name": order.contact_name,
            "email": order.email, "mobile": order.phone or "", "address": address,
            "pickup_point": order.pickup_point_name or "", "total_yuan": yuan(order.total_amount),
            "paid_yuan": yuan(order.paid_amount), "refunded_yuan": yuan(order.refunded_amount),
            "currency": order.currency, "paid_at": _when(order.paid_at, zone)})
        if address and (address, order.phone) not in seen:
            seen.add((address, order.phone))
            data["addresses"].append({"contact_name": order.contact_name, "address": address,
                                      "mobile": order.phone or "",
                                      "first_used_in_order": order.number})
    ids = [order.id for order in orders]
    numbers = {order.id: order.number for order in orders}
    if not ids:
        return
    for line in session.exec(select(OrderLine).where(OrderLine.order_id.in_(ids))
                             .order_by(OrderLine.order_id, OrderLine.id)):
        data["order_lines"].append({
            "order": numbers[line.order_id], "product": line.product_name,
            "product_in_english": line.product_name_en or "",
            "variant": line.variant_name, "variant_in_english": line.variant_name_en or "",
            "sku": line.sku, "quantity": line.quantity,
            "unit_price_yuan": yuan(line.unit_price_amount),
            "line_total_yuan": yuan(line.line_total_amount),
            "refunded_quantity": line.refunded_quantity})
    for refund in session.exec(select(Refund).where(Refund.order_id.in_(ids))
                               .order_by(Refund.id)):
        data["refunds"].append({"order": numbers[refund.order_id],
                                "amount_yuan": yuan(refund.amount),
                                "given_at": _when(refund.created_at, zone),
                                "did_not_go_through_at": _when(refund.failed_at, zone)})


def _live(session: Session, user: User, zone, data: dict) -> None:
    for message, title in session.exec(
            select(LiveMessage, LiveSession.title).join(
                LiveSession, LiveSession.id == LiveMessage.session_id)
            .where(LiveMessage.user_id == user.id).order_by(LiveMessage.id)):
        data["messages"].append({
            "live_stream": title, "sent_at": _when(message.created_at, zone),
            "question": message.is_question, "text": message.body,
            "answer": message.answer or "", "hidden_by_the_shop": message.hidden_at is not None})
    data["reminders"] = [{"live_stream": title, "asked_at": _when(reminder.created_at, zone)}
                         for reminder, title in session.exec(
                             select(ReminderRequest, LiveSession.title).join(
                                 LiveSession, LiveSession.id == ReminderRequest.session_id)
                             .where(ReminderRequest.user_id == user.id)
                             .order_by(ReminderRequest.id))]
    data["notices"] = [{"subject": n.subject, "text": n.body,
                        "sent_at": _when(n.created_at, zone), "read_at": _when(n.read_at, zone)}
                       for n in session.exec(select(Notice).where(Notice.user_id == user.id)
                                             .order_by(Notice.id))]
    data["mail"] = [{"subject": m.subject, "written_at": _when(m.created_at, zone),
                     "sent_at": _when(m.sent_at, zone)}
                    for m in session.exec(select(OutboxMail).where(
                        OutboxMail.to_address == user.email).order_by(OutboxMail.id))]
    data["cart"] = [{"product": title, "variant": variant_name, "quantity": item.quantity,
                     "added_at": _when(item.added_at, zone)}
                    for item, title, variant_name in session.exec(
                        select(CartItem, Product.title, ProductVariant.name)
                        .join(ProductVariant, ProductVariant.id == CartItem.variant_id)
                        .join(Product, Product.id == ProductVariant.product_id)
                        .where(CartItem.user_id == user.id).order_by(CartItem.id))]


def _income(session: Session, user: User, zone, data: dict) -> None:
    numbers = dict(session.exec(select(Order.id, Order.number).join(
        LedgerEntry, LedgerEntry.order_id == Order.id).where(
        LedgerEntry.maker_id == user.id).distinct()).all())
    for entry in session.exec(select(LedgerEntry).where(LedgerEntry.maker_id == user.id)
                              .order_by(LedgerEntry.occurred_at, LedgerEntry.id)):
        data["income"].append({
            "date": _when(entry.occurred_at, zone), "kind": entry.kind.value,
            "amount_yuan": yuan(entry.amount), "currency": entry.currency,
            "where": entry.channel.value if entry.channel else "",
            "what": entry.description, "quantity": entry.quantity,
            "order": numbers.get(entry.order_id, ""), "reason": entry.reason or "",
            "available_from": _when(entry.available_at, zone)})
    data["payouts"] = [{"amount_yuan": yuan(p.amount), "method": p.method.value,
                        "status": p.status.value, "reference": p.reference or "",
                        "made_at": _when(p.created_at, zone), "paid_at": _when(p.paid_at, zone)}
                       for p in session.exec(select(Payout).where(Payout.maker_id == user.id)
                                             .order_by(Payout.id))]
    data["statements"] = [{"month": s.month, "opening_yuan": yuan(s.opening_amount),
                           "earned_yuan": yuan(s.earned_amount),
                           "paid_out_yuan": yuan(s.paid_out_amount),
                           "closing_yuan": yuan(s.closing_amount)}
                          for s in session.exec(select(MonthlyStatement).where(
                              MonthlyStatement.maker_id == user.id)
                              .order_by(MonthlyStatement.month))]


def _column(key: str) -> Column:
    return Column(key, COLUMN_LABELS.get(key, key))


def _csv(rows: list[dict], labels: dict[str, dict]) -> bytes:
    """A section as CSV: the JSON's keys as column codes (columns.csv gives the headings),
    the values as the page shows them."""
    return csv_text([_column(key) for key in rows[0]], (
        [shown(labels, key, value) for key, value in row.items()] for row in rows)).encode()


def _columns_csv(data: dict[str, list[dict]]) -> bytes:
    """Every column code used in the CSV files beside its heading in the reader's language."""
    keys = dict.fromkeys(key for rows in data.values() if rows for key in rows[0])
    return csv_text([Column("code", _l("Column code")), Column("heading", _l("Heading"))],
                    ([key, str(COLUMN_LABELS.get(key, key))] for key in keys)).encode()


def export_zip(session: Session, user: User) -> bytes:
    """The person's data as a ZIP: personal-data.html, personal-data.json and a CSV per
    section that has rows."""
    data = collect(session, user)
    exported_at = utcnow().isoformat(timespec="seconds")
    document = {"shop": "Gongfang Live 工坊直播", "exported_at": exported_at,
                "account_number": user.id, "sections": data}
    values = _value_labels()
    page = render_template("accounts/personal_data_export.html", data=data,
                           titles=SECTION_TITLES, labels=COLUMN_LABELS,
                           shown=lambda column, value: shown(values, column, value),
                           exported_at=exported_at, user=user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("personal-data.html", page.encode("utf-8"))
        archive.writestr("personal-data.json",
                         json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8"))
        for key, rows in data.items():
            if rows:
                archive.writestr(f"{key.replace('_', '-')}.csv", _csv(rows, values))
        archive.writestr("columns.csv", _columns_csv(data))
    return buffer.getvalue()
