"""Questions and chat in the live room, and their moderation: answers, hiding, mutes and
each shop's blocked words. Messages are plain text: escaped wherever they are shown,
never HTML; control characters are dropped."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.db import utcnow
from core.errors import Conflict, DomainError, NotFound
from core.events import publish_after_commit
from core.rate_limits import count_tries, rate_limits, wait_message
from livestream.live_prices import channel
from livestream.models import LiveSession, SessionStatus
from livestream.room_models import (
    ANSWER_MAX_LENGTH,
    BLOCKED_WORD_MAX_LENGTH,
    MESSAGE_MAX_LENGTH,
    BlockedWord,
    LiveMessage,
    LiveMute,
)

RATE_RULE = "live-messages-from-viewer"
MAX_BLOCKED_WORDS = 500


class MessageRefused(DomainError):
    """A message that cannot be posted, with the field its message belongs to."""

    code = "message_refused"

    def __init__(self, message, *, field: str = "body", retry_after: int | None = None):
        super().__init__(message)
        self.field = field
        self.retry_after = retry_after


def clean_text(text: str | None) -> str:
    """Text as typed, with control characters dropped and white space folded."""
    kept = "".join(ch if ch.isprintable() else " " for ch in (text or "")[:20_000])
    return " ".join(kept.split())


def message_event(message: LiveMessage) -> dict:
    """A message as every room shows it (hidden ones are never sent)."""
    return {"id": message.id, "author": message.author_name, "body": message.body,
            "is_question": message.is_question, "at": message.created_at.isoformat(),
            "answer": message.answer, "answered": message.answered_at is not None}


def _list_of(workshop_id: int | None):
    return (BlockedWord.workshop_id.is_(None) if workshop_id is None
            else BlockedWord.workshop_id == workshop_id)


def word_list(session: Session, workshop_id: int | None) -> list[BlockedWord]:
    """One shop's own list (None: the platform's), in the order the words were added."""
    return list(session.exec(select(BlockedWord).where(_list_of(workshop_id))
                             .order_by(BlockedWord.id)).all())


def blocked_words(session: Session, workshop_id: int | None) -> list[BlockedWord]:
    """What a shop's rooms refuse: the platform's list and the shop's own."""
    where = BlockedWord.workshop_id.is_(None)
    if workshop_id is not None:
        where = sa.or_(where, BlockedWord.workshop_id == workshop_id)
    return list(session.exec(select(BlockedWord).where(where)
                             .order_by(BlockedWord.id)).all())


def post_message(*, session: Session, live: LiveSession, user, body: str,
                 is_question: bool, now: datetime | None = None) -> LiveMessage:
    """A signed-in viewer's question or message, shown in every open room at once."""
    if live.status != SessionStatus.LIVE:
        raise MessageRefused(_l("Questions open when the stream is live."))
    text = clean_text(body)
    if not text:
        raise MessageRefused(_l("Type your question or message"))
    if len(text) > MESSAGE_MAX_LENGTH:
        raise MessageRefused(_l("A message can be at most %(n)d characters",
                                n=MESSAGE_MAX_LENGTH))
    if session.exec(select(LiveMute.id).where(LiveMute.session_id == live.id,
                                              LiveMute.user_id == user.id)).first():
        raise MessageRefused(_l("The hosts have turned off messages from you in this "
                                "stream."))
    lowered = text.casefold()
    if any(word.word.casefold() in lowered
           for word in blocked_words(session, live.workshop_id)):
        raise MessageRefused(_l("Your message has a word this shop does not allow. Change "
                                "it and send it again."))
    limits, key = rate_limits(), f"{live.id}:{user.id}"
    if not limits.allowed(RATE_RULE, key):
        wait = limits.retry_after(RATE_RULE, key)
        raise MessageRefused(_l("You are sending messages quickly. Try again in %(n)d "
                                "seconds.", n=wait), retry_after=wait)
    # And across every room, so posting in many rooms at once does not get round it.
    across = {"live-messages-from-user": f"user-{user.id}"}
    if is_question:
        across["live-questions-from-user"] = f"user-{user.id}"
    if wait := max(limits.retry_after(rule, who) for rule, who in across.items()):
        raise MessageRefused(wait_message(wait), retry_after=wait)
    limits.count(RATE_RULE, key)
    count_tries(across)
    message = LiveMessage(session_id=live.id, user_id=user.id,
                          author_name=(user.display_name or "")[:60], body=text,
                          is_question=bool(is_question), created_at=now or utcnow())
    session.add(message)
    session.flush()
    publish_after_commit(session, channel(live.id), "message", message_event(message))
    return message


def _message(session: Session, live: LiveSession, message_id: int) -> LiveMessage:
    message = session.get(LiveMessage, message_id)
    if message is None or message.session_id != live.id:
        raise NotFound(_l("That message is not in this stream."))
    return message


def answer_message(*, session: Session, live: LiveSession, message_id: int,
                   answer: str | None, by_user_id: int) -> LiveMessage:
    """Answer a question in text (or with no text: mark it answered)."""
    message = _message(session, live, message_id)
    if message.hidden_at is not None:
        raise Conflict(_l("That message is hidden."))
    text = clean_text(answer)
    if len(text) > ANSWER_MAX_LENGTH:
        raise MessageRefused(_l("An answer can be at most %(n)d characters",
                                n=ANSWER_MAX_LENGTH), field="answer")
    message.answer = text or message.answer
    message.answered_at = message.answered_at or utcnow()
    message.answered_by_id = by_user_id
    session.add(message)
    session.flush()
    publish_after_commit(session, channel(live.id), "message", message_event(message))
    return message


def hide_message(*, session: Session, live: LiveSession, message_id: int,
                 by_user_id: int) -> bool:
    """Take a message out of every room; False if it was hidden already."""
    _message(session, live, message_id)
    hidden = session.execute(
        sa.update(LiveMessage).where(LiveMessage.id == message_id,
                                     LiveMessage.hidden_at.is_(None))
        .values(hidden_at=utcnow(), hidden_by_id=by_user_id)
        .execution_options(synchronize_session=False)).rowcount == 1
    if hidden:
        publish_after_commit(session, channel(live.id), "message_hidden", {"id": message_id})
    return hidden


def mute_author(*, session: Session, live: LiveSession, message_id: int,
                by_user_id: int) -> bool:
    """Stop the message's author from posting in this session; False if already muted."""
    message = _message(session, live, message_id)
    if message.user_id == by_user_id:
        raise Conflict(_l("You cannot mute yourself."))
    try:
        with session.begin_nested():
            session.add(LiveMute(session_id=live.id, user_id=message.user_id,
                                 muted_by_id=by_user_id))
    except IntegrityError:
        return False
    return True


def unmute(*, session: Session, live: LiveSession, user_id: int) -> bool:
    """Let a muted viewer post again."""
    return session.execute(sa.delete(LiveMute).where(
        LiveMute.session_id == live.id, LiveMute.user_id == user_id)).rowcount == 1


def add_blocked_word(*, session: Session, workshop_id: int | None, word: str,
                     by_user_id: int) -> BlockedWord:
    """Add a word to a shop's list (None: the platform's); refused when empty or long."""
    text = clean_text(word)
    if not text:
        raise MessageRefused(_l("Type the word to block"), field="word")
    if len(text) > BLOCKED_WORD_MAX_LENGTH:
        raise MessageRefused(_l("A blocked word can be at most %(n)d characters",
                                n=BLOCKED_WORD_MAX_LENGTH), field="word")
    if len(word_list(session, workshop_id)) >= MAX_BLOCKED_WORDS:
        raise MessageRefused(_l("The list is full (%(n)d words).", n=MAX_BLOCKED_WORDS),
                             field="word")
    existing = session.exec(select(BlockedWord).where(
        _list_of(workshop_id), BlockedWord.word == text)).first()
    if existing is not None:
        return existing
    word_row = BlockedWord(workshop_id=workshop_id, word=text, added_by_id=by_user_id)
    session.add(word_row)
    session.flush()
    return word_row


def remove_blocked_word(*, session: Session, workshop_id: int | None, word_id: int) -> bool:
    """Take a word off a shop's list."""
    row = session.get(BlockedWord, word_id)
    if row is None or row.workshop_id != workshop_id:
        raise NotFound(_l("That word is not on this list."))
    session.delete(row)
    session.flush()
    return True


def visible_messages(session: Session, live_id: int, limit: int = 50) -> list[LiveMessage]:
    """The latest messages not hidden, oldest first."""
    rows = session.exec(select(LiveMessage).where(
        LiveMessage.session_id == live_id, LiveMessage.hidden_at.is_(None))
        .order_by(LiveMessage.id.desc()).limit(limit)).all()
    return list(reversed(rows))
