"""Order mail in the buyer's language, saved to the outbox with the change it reports."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlmodel import Session, select

from core.db import utcnow
from core.mail import OutboxMail
from core.money import Money
from shop import bank_transfer
from shop.models import Order, OrderLine


def order_link(order: Order) -> str:
    """The secret link a buyer follows their order by."""
    return f"{current_app.config['BASE_URL']}/orders/{order.public_token}"


def _send(session: Session, order: Order, subject_and_lines) -> None:
    with force_locale(order.locale):
        subject, lines = subject_and_lines()
        body = "\n\n".join([_("Hello %(name)s,", name=order.contact_name), *lines,
                            _("See your order at any time: %(link)s", link=order_link(order)),
                            _("Thank you for buying from Gongfang Live.")])
        queue_order_mail(session=session, to=order.email, subject=str(subject),
                         body=body + "\n")


def queue_order_mail(*, session: Session, to: str, subject: str, body: str) -> None:
    """Save a message in the outbox, with the order's commit; the job sends it.

    Unlike core.mail.queue_mail there is no send after the commit: that would take a
    second pool connection (and on SQLite two more write transactions) while the
    request still holds its first, and in a rush of buyers every request would wait
    on another's. The `send_outbox` job sends it within half a minute, with retries.
    """
    now = utcnow()
    session.add(OutboxMail(to_address=to, subject=subject, body_text=body, created_at=now,
                           next_attempt_at=now))


def _total(order: Order, amount: int | None = None) -> str:
    return Money(order.total_amount if amount is None else amount, order.currency).format(
        order.locale)


def order_placed(*, session: Session, order: Order) -> None:
    """We have your order (and how to pay if it is offline)."""
    def build():
        lines = [_("We have your order %(number)s for %(total)s.", number=order.number,
                   total=_total(order))]
        lines.extend(_made_to_order_lines(session, order))
        if order.payment_provider.value == "offline":
            lines.extend(_how_to_pay_offline(session, order))
        return _("Order %(number)s received", number=order.number), lines
    _send(session, order, build)


def _made_to_order_lines(session: Session, order: Order) -> list[str]:
    """A sentence for each line with units to be made: how many, and when they ship."""
    english = order.locale.startswith("en")
    return [_("%(name)s: %(count)d made to order: ships when made, in about %(days)d days "
              "(expected %(date)s)",
              name=(line.product_name_en if english and line.product_name_en
                    else line.product_name),
              count=line.made_to_order_quantity, days=line.lead_time_days or 0,
              date=format_date(line.ships_on, "long"))
            for line in session.exec(select(OrderLine).where(
                OrderLine.order_id == order.id, OrderLine.made_to_order_quantity > 0)
                .order_by(OrderLine.id))]


def _how_to_pay_offline(session: Session, order: Order) -> list[str]:
    if order.delivery_method.value == "pickup":
        lines = [_("Pay at pick-up or by bank transfer, quoting %(number)s. We keep your "
                   "goods for you until we hear from you.", number=order.number)]
    else:
        lines = [_("Pay by bank transfer, quoting %(number)s. We keep your goods for you "
                   "until we hear from you.", number=order.number)]
    bank = bank_transfer.account(session)
    if bank is None:
        lines.append(_("The shop has not put its bank account here yet. Contact the shop "
                       "for it and quote %(number)s.", number=order.number))
        return lines
    lines += [_("Account name: %(name)s", name=bank.account_name),
              _("Bank and branch: %(bank)s", bank=bank.bank_name),
              _("Account number: %(number)s", number=bank.account_number),
              _("Amount: %(total)s", total=_total(order)),
              _("Reference (write it in the transfer's note): %(number)s",
                number=order.number)]
    if bank.note:
        lines.append(bank.note)
    return lines


def order_paid(*, session: Session, order: Order, after_cancel: bool = False) -> None:
    """Your payment arrived (`after_cancel`: after we had cancelled the order, and the
    goods were still here, so it goes ahead)."""
    def build():
        lines = [_("We have received %(total)s for order %(number)s.", total=_total(order),
                   number=order.number)]
        if after_cancel:
            lines.append(_("Your payment came after we had cancelled the order, but the "
                           "goods were still here: your order goes ahead."))
        return _("Order %(number)s is paid", number=order.number), lines
    _send(session, order, build)


def late_payment_refunded(*, session: Session, order: Order, amount: int) -> None:
    """Your payment came after the order was cancelled and the goods had gone: refunded."""
    def build():
        return (_("Refund for order %(number)s", number=order.number),
                [_("Your payment of %(amount)s for order %(number)s came after the order "
                   "had been cancelled, and the goods have gone to another buyer.",
                   amount=_total(order, amount), number=order.number),
                 _("We have refunded %(amount)s to your card. Your bank may take a few "
                   "days to show it.", amount=_total(order, amount))])
    _send(session, order, build)


def order_fulfilled(*, session: Session, order: Order) -> None:
    """Shipped (with tracking number) or picked up."""
    def build():
        status = order.fulfilment_status.label
        lines = [_("Order %(number)s: %(status)s.", number=order.number, status=status)]
        if order.tracking_number:
            lines.append(_("Tracking number: %(tracking)s", tracking=order.tracking_number))
        return _("Order %(number)s: %(status)s", number=order.number, status=status), lines
    _send(session, order, build)


def order_cancelled(*, session: Session, order: Order) -> None:
    """The order was cancelled (not paid in time, or by request)."""
    def build():
        return (_("Order %(number)s is cancelled", number=order.number),
                [_("Order %(number)s is cancelled and nothing was charged.",
                   number=order.number)])
    _send(session, order, build)


def order_refunded(*, session: Session, order: Order, amount: int) -> None:
    """Money was given back."""
    def build():
        return (_("Refund for order %(number)s", number=order.number),
                [_("We have refunded %(amount)s for order %(number)s.",
                   amount=_total(order, amount), number=order.number)])
    _send(session, order, build)
