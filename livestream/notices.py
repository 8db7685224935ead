"""Telling people things: an in-app notice plus a mail through the outbox, written in
the reader's own language and time zone, in the same transaction as the change they
report."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from flask_babel import force_locale
from sqlmodel import Session, select

from accounts.models import Role, User, UserRole
from core.config import SUPPORTED_LOCALES
from core.mail import queue_mail
from core.timezones import forced_zone, user_zone_name
from livestream.models import Notice


def notify(*, session: Session, user: User, compose: Callable[[], tuple[str, str]],
           link: str | None = None, mail: bool = True) -> Notice:
    """Save a notice for `user` and queue the same words as a mail.

    `compose` returns (subject, body); it is called with the reader's language and time
    zone active, so `gettext` and the time helpers inside it speak to them, not to the
    sender (an operator in another zone, or a job).
    """
    locale = user.locale if user.locale in SUPPORTED_LOCALES else "zh_Hans_CN"
    with force_locale(locale), forced_zone(user_zone_name(user)):
        subject, body = compose()
    notice = Notice(user_id=user.id, subject=str(subject)[:300], body=str(body), link=link)
    session.add(notice)
    if mail:
        address = current_app.config["BASE_URL"] + link if link else None
        text = f"{body}\n\n{address}" if address else str(body)
        queue_mail(session=session, to=user.email, subject=str(subject)[:300], body=text)
    session.flush()
    return notice


def operators(*, session: Session) -> list[User]:
    """Everyone who plans sessions (to warn them of gaps and late releases)."""
    return list(session.exec(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.OPERATOR, User.is_active_account.is_(True))
        .order_by(User.id)).all())


def reminded_shoppers(*, session: Session, live_id: int) -> list[User]:
    """Everyone who pressed "remind me" for the session (to tell them it moved or is off)."""
    from livestream.models import ReminderRequest

    return list(session.exec(
        select(User).join(ReminderRequest, ReminderRequest.user_id == User.id)
        .where(ReminderRequest.session_id == live_id, User.is_active_account.is_(True))
        .order_by(User.id)).all())


def notices_for(*, session: Session, user_id: int, limit: int = 100) -> list[Notice]:
    """A person's newest notices first."""
    return list(session.exec(
        select(Notice).where(Notice.user_id == user_id)
        .order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit)).all())


def insert_once(*, session: Session, model, **values) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when the row is new.

    The unique constraint decides, without a savepoint: releasing a savepoint fires
    the session's after-commit hooks early (see core/db.py), which would send mail
    queued earlier in this transaction before the transaction has committed.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = model.__table__
    key = next(iter(table.primary_key.columns))
    statement = insert(table).values(**values).on_conflict_do_nothing().returning(key)
    return session.execute(statement).first() is not None
