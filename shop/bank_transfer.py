"""Paying by bank transfer: the shop's account, and how an offline order is told to pay.

An offline order is paid at a stall when it is picked up there, or by bank transfer;
a home-delivery or download order can only be paid by transfer, so it is never told
to pay at pick-up.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.db import utcnow
from shop.models import BankTransferAccount, DeliveryMethod

ACCOUNT_ID = 1  # the shop has one account for transfers

_OFFLINE_LABELS = {
    DeliveryMethod.PICKUP: _l("Pay at pick-up or by bank transfer"),
    DeliveryMethod.DELIVERY: _l("Pay by bank transfer"),
    DeliveryMethod.DIGITAL: _l("Pay by bank transfer"),
}


def offline_label(delivery_method: DeliveryMethod | str | None) -> str:
    """How an offline order is paid, by how it reaches the buyer."""
    method = DeliveryMethod(delivery_method) if delivery_method else DeliveryMethod.PICKUP
    return str(_OFFLINE_LABELS[method])


def account(session: Session) -> BankTransferAccount | None:
    """The account buyers transfer to, or None while no operator has given one."""
    return session.get(BankTransferAccount, ACCOUNT_ID)


def save_account(*, session: Session, account_name: str, bank_name: str,
                 account_number: str, note: str, by_user_id: int) -> BankTransferAccount:
    """Set the account (the first save makes the row; two first saves at once make one)."""
    kept = account(session)
    if kept is None:
        try:
            with session.begin_nested():
                kept = BankTransferAccount(id=ACCOUNT_ID, account_name=account_name,
                                           bank_name=bank_name, account_number=account_number,
                                           note=note, updated_by_id=by_user_id)
                session.add(kept)
            return kept
        except IntegrityError:
            # Another operator's first save committed first: theirs is updated below.
            kept = session.get(BankTransferAccount, ACCOUNT_ID, populate_existing=True)
    kept.account_name, kept.bank_name = account_name, bank_name
    kept.account_number, kept.note = account_number, note
    kept.updated_by_id, kept.updated_at = by_user_id, utcnow()
    session.add(kept)
    return kept


def load_demo_account(*, session: Session, people: dict) -> None:
    """The demo shop's account, marked as an example so nobody sends it money."""
    if account(session) is None:
        save_account(session=session, account_name="宁波市残疾人联合会（示例账户）",
                     bank_name="中国工商银行宁波分行（示例）",
                     account_number="6222 0000 0000 0000 000",
                     note="这是演示账户，请勿真的转账。", by_user_id=people["operator"].id)
