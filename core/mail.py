"""The mail outbox: mail is saved with the data it is about and sent after commit.

A message is a row written in the same transaction as the change it reports, so a
rolled-back change sends nothing and a server that is down loses nothing: the
`send_outbox` job retries with back-off, for five days. Delivery is at least once (see
`deliver`); the log names the mail by its id and the server, never the recipient.
Without SMTP settings (the `make run` mode) messages are written as .eml files under
instance/mail/.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlmodel import Field, Session, SQLModel, select

from core.db import UTCDateTime, after_commit, db, utcnow
from core.scheduler import register_job

logger = logging.getLogger(__name__)
# Tries are an hour apart at most, and a mail not sent in five days is given up, as
# mail servers do (Postfix's maximal_queue_lifetime); MAX_ATTEMPTS marks a given-up row.
MAX_ATTEMPTS = 200
GIVE_UP_AFTER = timedelta(days=5)
CLAIM_SECONDS = 120


class OutboxMail(SQLModel, table=True):
    """One message waiting to be sent, or the record that it was."""

    __tablename__ = "outbox_mail"

    id: int | None = Field(default=None, primary_key=True)
    to_address: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    body_text: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)


def queue_mail(*, session: Session, to: str, subject: str, body: str) -> OutboxMail:
    """Save a message in the outbox; it is sent once the transaction commits."""
    mail = OutboxMail(to_address=to, subject=subject, body_text=body)
    session.add(mail)
    session.flush()
    mail_id = mail.id
    app = current_app._get_current_object()
    after_commit(session, lambda: _send_soon(app, mail_id))
    return mail


def _send_soon(app, mail_id: int) -> None:
    with app.app_context():
        deliver(mail_id)


def _claim(session: Session, mail_id: int, now: datetime) -> bool:
    # A conditional update: the job and the after-commit send never both take one mail.
    result = session.execute(
        sa.update(OutboxMail)
        .where(OutboxMail.id == mail_id, OutboxMail.sent_at.is_(None),
               sa.or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now))
        .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
    )
    return result.rowcount == 1


def _as_email(mail: OutboxMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Message-ID"] = message_id(mail)
    message.set_content(mail.body_text)
    return message


def message_id(mail: OutboxMail) -> str:
    """The same Message-ID on every try of one outbox row.

    A process killed after the server accepted a mail but before it was marked sent
    sends it again: with the same Message-ID the second copy is the same message,
    which mail stores and readers drop as a duplicate (see `deliver`).
    """
    domain = parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2]
    return f"<outbox.{mail.id}.{mail.created_at:%Y%m%d%H%M%S}@{domain or 'gongfang.local'}>"


def _transmit(message: EmailMessage, mail_id: int) -> None:
    config = current_app.config
    if not config["SMTP_HOST"]:
        folder = Path(config["MAIL_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{mail_id:08d}.eml").write_bytes(bytes(message))
        return
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls()
        if config["SMTP_USERNAME"]:
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
        smtp.send_message(message)


def deliver(mail_id: int) -> bool:
    """Try to send one message now; True if it went out.

    At least once, never lost: the row is claimed, handed to the server, then marked
    sent. A process killed before the server accepted it leaves a claim that runs out
    after CLAIM_SECONDS, and the next try sends it once. Killed in the moment between
    the server's "accepted" and the mark, it is sent again, with the same Message-ID.
    """
    now = utcnow()
    with db.transaction() as session:
        if not _claim(session, mail_id, now):
            return False
        mail = session.get(OutboxMail, mail_id)
        message = _as_email(mail)
    try:
        _transmit(message, mail_id)
    except (OSError, smtplib.SMTPException) as exc:
        _not_sent(mail_id, exc)
        return False
    with db.transaction() as session:
        mail = session.get(OutboxMail, mail_id)
        mail.sent_at = utcnow()
        mail.attempts += 1
        mail.claimed_until = None
        mail.last_error = None
    return True


def _refused_for_good(exc: Exception) -> bool:
    # Only a recipient the server refuses for good is this mail's own fault; any other
    # refusal (our sender address, a login, a full disk) would fail every mail alike
    # and is fixed on the server, so those keep being tried.
    return isinstance(exc, smtplib.SMTPRecipientsRefused) and all(
        code >= 500 for code, _text in exc.recipients.values())


def _reason(exc: Exception) -> str:
    # Names and codes only: the server's own text may quote the recipient's address.
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "recipient refused (" + ", ".join(
            str(code) for code, _text in exc.recipients.values()) + ")"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.smtp_code}"
    return type(exc).__name__


def _not_sent(mail_id: int, exc: Exception) -> None:
    with db.transaction() as session:
        mail = session.get(OutboxMail, mail_id)
        mail.attempts += 1
        mail.last_error = f"{type(exc).__name__}: {exc}"[:500]
        mail.claimed_until = None
        # Back off 1, 2, 4 ... minutes, at most an hour between tries.
        mail.next_attempt_at = utcnow() + timedelta(minutes=min(60, 2 ** min(mail.attempts - 1, 6)))
        given_up = (_refused_for_good(exc)
                    or mail.next_attempt_at - mail.created_at > GIVE_UP_AFTER)
        if given_up:
            mail.attempts = max(mail.attempts, MAX_ATTEMPTS)  # the outbox skips it now
        attempts, next_attempt_at = mail.attempts, mail.next_attempt_at
    config = current_app.config
    server = f"{config['SMTP_HOST']}:{config['SMTP_PORT']}" if config["SMTP_HOST"] \
        else config["MAIL_DIR"]
    if given_up:
        logger.error("mail %s given up after %s attempts, not sent: %s (mail server %s)",
                     mail_id, attempts, _reason(exc), server)
    else:
        logger.warning("mail %s kept in the outbox, not sent: %s (mail server %s); "
                       "attempt %s, next try at %s UTC", mail_id, _reason(exc), server,
                       attempts, f"{next_attempt_at:%Y-%m-%d %H:%M:%S}")


@register_job("send_outbox", "interval", seconds=30)
def send_outbox() -> int:
    """Send every message that is due; returns how many went out."""
    now = utcnow()
    with db.transaction(write=False) as session:
        due = session.exec(
            select(OutboxMail.id)
            .where(OutboxMail.sent_at.is_(None), OutboxMail.next_attempt_at <= now,
                   OutboxMail.attempts < MAX_ATTEMPTS)
            .order_by(OutboxMail.id).limit(200)
        ).all()
    return sum(1 for mail_id in due if deliver(mail_id))
