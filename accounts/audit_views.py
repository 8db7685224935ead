"""Operators read the audit trail (core/audit.py): newest first, filtered by action,
by who did it and by dates, a page at a time, and download the same as CSV."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased
from sqlmodel import select
from werkzeug.routing import BuildError
from wtforms import SelectField, StringField
from wtforms.validators import ValidationError

from accounts.access import roles_required
from accounts.models import Role, User
from core.audit import AuditEntry
from core.csv_export import columns, csv_download, shop_time
from core.db import get_session
from core.forms import Form
from core.i18n import format_money
from core.timezones import local_datetime, shop_zone, zone_label

# Nested in the operator blueprint (accounts/operator_views.py): /operator/audit.
bp = Blueprint("audit", __name__)
PAGE_SIZE = 50
SYSTEM = "system"

# What each action code means, for the page; a code not listed shows as itself.
ACTION_LABELS = {
    "product.publish": _l("Product published"),
    "product.send_back": _l("Product sent back to the maker"),
    "live_session.plan": _l("Live session planned"),
    "live_session.edit": _l("Live session changed"),
    "live_session.publish": _l("Live session published"),
    "live_session.go_live": _l("Live session started"),
    "live_session.end": _l("Live session ended"),
    "live_session.cancel": _l("Live session cancelled"),
    "slot.add": _l("Host slot added"),
    "slot.remove": _l("Host slot removed"),
    "slot.assign": _l("Host slot given to a host"),
    "slot.unassign": _l("Host slot taken back"),
    "order.mark_paid": _l("Order marked as paid"),
    "order.refund": _l("Order refunded"),
    "order.cancel": _l("Order cancelled"),
    "order.ship": _l("Order marked as shipped"),
    "order.pick_up": _l("Order marked as picked up"),
    "bank_account.change": _l("Bank account for transfers changed"),
    "payout.create": _l("Payout to a maker recorded"),
    "payout_batch.create": _l("Payout batch made"),
    "payout_batch.mark_paid": _l("Payout batch marked as paid"),
    "ledger.adjust": _l("Correction to a maker's income"),
    "commission.set": _l("Platform fee set"),
    "sales_point.member_add": _l("Person added to a stall's till"),
    "role.grant": _l("Role given"),
    "role.revoke": _l("Role taken away"),
    "account.deactivate": _l("Signing in stopped"),
    "account.reactivate": _l("Signing in allowed again"),
    "host.qualify": _l("Host qualification recorded"),
    "host.unqualify": _l("Host qualification removed"),
    "workshop.create": _l("Workshop added"),
    "workshop.member_add": _l("Workshop member added"),
    "workshop.member_remove": _l("Workshop member removed"),
    "chat.hide": _l("Live message hidden"),
    "chat.mute": _l("Viewer muted in a live session"),
    "chat.block_word": _l("Word blocked in live messages"),
    "chat.unblock_word": _l("Word allowed again in live messages"),
    "stream_key.renew": _l("Stream key renewed"),
    "person.erase": _l("Personal data erased"),
    "sensitive.view": _l("Sensitive personal data viewed"),
}

# Where an entry's subject is shown to operators: (endpoint, its argument).
SUBJECT_PAGES = {
    "order": ("shop.operator_order", "number"),
    "product": ("catalog.review_product", "product_id"),
    "user": ("operator_accounts.user_detail", "user_id"),
    "workshop": ("operator_accounts.workshop_detail", "workshop_id"),
    "live_session": ("livestream.operator.detail", "session_id"),
    "payout_batch": ("income.operator_batch", "batch_id"),
}


def _day(field) -> date | None:
    value = (field.data or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(_("Enter the date as year-month-day, like 2026-12-01")) from None


class AuditFilterForm(Form):
    """The page's filters, sent by GET; nothing here writes, so no CSRF token."""

    class Meta(Form.Meta):
        csrf = False

    action = SelectField(_l("Action"), validate_choice=False)
    actor = SelectField(_l("Done by"), validate_choice=False)
    date_from = StringField(_l("From"))
    date_to = StringField(_l("To"))

    def validate_action(self, field):
        if field.data and field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_("Choose an action from the list"))

    def validate_actor(self, field):
        if field.data and field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_("Choose a person from the list"))

    def validate_date_from(self, field):
        _day(field)

    def validate_date_to(self, field):
        last = _day(field)
        try:
            first = _day(self.date_from)
        except ValidationError:
            return  # the start date has its own message
        if first and last and last < first:
            raise ValidationError(_("The end date must be the same as or after the start date"))


@dataclass(frozen=True)
class Row:
    entry: AuditEntry
    actor_name: str | None

    @property
    def action_label(self) -> str:
        label = ACTION_LABELS.get(self.entry.action)
        return str(label) if label else self.entry.action

    @property
    def subject_url(self) -> str | None:
        page = SUBJECT_PAGES.get(self.entry.subject_type)
        if page is None:
            return None
        endpoint, argument = page
        value = self.entry.subject_id
        if argument != "number":
            if not value.isdecimal():
                return None
            value = int(value)
        try:
            return url_for(endpoint, **{argument: value})
        except BuildError:  # a package that is not installed in this app
            return None

    @property
    def details_text(self) -> str:
        details = self.entry.details or {}
        parts = []
        for key, value in details.items():
            if key == "amount" and isinstance(value, int):
                value = format_money(value, details.get("currency", "CNY"))
            parts.append(f"{key}: {value}")
        return "; ".join(parts)


def _filter_form() -> AuditFilterForm:
    session = get_session()
    form = AuditFilterForm(request.args)
    used = set(session.exec(select(AuditEntry.action).distinct()).all())
    codes = list(ACTION_LABELS) + sorted(used - set(ACTION_LABELS))
    form.action.choices = [("", _("Every action"))] + [
        (code, str(ACTION_LABELS.get(code, code))) for code in codes]
    actors = session.exec(
        select(User.id, User.display_name).where(
            User.id.in_(select(AuditEntry.actor_id).where(AuditEntry.actor_id.is_not(None))
                        .distinct()))
        .order_by(User.display_name, User.id)).all()
    form.actor.choices = [("", _("Anyone")), (SYSTEM, _("The system (automatic)"))] + [
        (str(user_id), name) for user_id, name in actors]
    return form


def _statement(form: AuditFilterForm, *columns):
    """The chosen entries (or `columns` of them) with the actor's name, newest first."""
    actor = aliased(User)
    statement = (select(*(columns or (AuditEntry,)), actor.display_name)
                 .join(actor, actor.id == AuditEntry.actor_id, isouter=True)
                 .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
    if form.action.data:
        statement = statement.where(AuditEntry.action == form.action.data)
    if form.actor.data == SYSTEM:
        statement = statement.where(AuditEntry.actor_id.is_(None))
    elif form.actor.data:
        statement = statement.where(AuditEntry.actor_id == int(form.actor.data))
    # Days are the shop's days (Asia/Shanghai), as the page shows the times.
    first, last = _day(form.date_from), _day(form.date_to)
    if first:
        statement = statement.where(AuditEntry.at >= _start_of(first))
    if last:
        statement = statement.where(AuditEntry.at < _start_of(last + timedelta(days=1)))
    return statement


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=shop_zone())


def _query_args(form: AuditFilterForm) -> dict:
    return {name: getattr(form, name).data for name in ("action", "actor", "date_from",
                                                          "date_to")
            if getattr(form, name).data}


@bp.route("/audit")
@roles_required(Role.OPERATOR)
def entries():
    """The trail, newest first, a page at a time."""
    form = _filter_form()
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))
    if not form.validate():
        return _page(form, rows=[], page=1, has_next=False, args={}), 400
    found = get_session().exec(_statement(form).offset((page - 1) * PAGE_SIZE)
                               .limit(PAGE_SIZE + 1)).all()
    rows = [Row(entry, name) for entry, name in found[:PAGE_SIZE]]
    return _page(form, rows=rows, page=page, has_next=len(found) > PAGE_SIZE,
                 args=_query_args(form))


def _page(form: AuditFilterForm, **context) -> str:
    return render_template("accounts/operator/audit.html", form=form, local_time=local_time,
                           zone=zone_label(shop_zone().key), **context)


CSV_COLUMNS = columns(
    "operator_accounts.audit.entries_csv",
    ("id", _l("Entry number")), ("at", _l("When")), ("actor_id", _l("Account number")),
    ("actor_name", _l("Done by")), ("action", _l("Action")),
    ("subject_type", _l("Kind of record")), ("subject_id", _l("Record number")),
    ("details", _l("Details")))


@bp.route("/audit.csv")
@roles_required(Role.OPERATOR)
def entries_csv():
    """Every entry the filters choose, for a spreadsheet: times in the shop's zone with
    their offset, details as JSON."""
    form = _filter_form()
    if not form.validate():
        return entries()
    rows = []
    # Plain rows, not model objects: a year of entries is written in a few seconds.
    found = get_session().exec(_statement(
        form, AuditEntry.id, AuditEntry.at, AuditEntry.actor_id, AuditEntry.action,
        AuditEntry.subject_type, AuditEntry.subject_id, AuditEntry.details))
    for entry_id, at, actor_id, action, subject_type, subject_id, details, name in found:
        rows.append([entry_id, shop_time(at), actor_id or "", name or "",
                     action, subject_type, subject_id,
                     json.dumps(details or {}, ensure_ascii=False, sort_keys=True)])
    return csv_download(CSV_COLUMNS, rows, "audit-trail.csv")


def local_time(value: datetime) -> str:
    """An entry's time as the page shows it: the shop's zone, the reader's language."""
    return local_datetime(value, zone=shop_zone())
