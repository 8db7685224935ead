"""What happens in a live room: pins, live prices and who bought at them, questions and
chat, moderation, captions and who watched. Read by the room, the replay and the report."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime, utcnow
from core.money import DEFAULT_CURRENCY

MESSAGE_MAX_LENGTH = 200
ANSWER_MAX_LENGTH = 500
CAPTION_MAX_LENGTH = 300
BLOCKED_WORD_MAX_LENGTH = 40


class LivePin(SQLModel, table=True):
    """A product shown ("讲解中") from `pinned_at` until `unpinned_at`: one at a time per
    session (a partial unique index), and the replay's chapters."""

    __tablename__ = "live_pin"
    __table_args__ = (
        sa.Index("uq_live_pin_current", "session_id", unique=True,
                 sqlite_where=sa.text("unpinned_at IS NULL"),
                 postgresql_where=sa.text("unpinned_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="live_session.id", index=True, ondelete="CASCADE")
    product_id: int = Field(foreign_key="product.id")
    pinned_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    unpinned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    pinned_by_id: int | None = Field(default=None, foreign_key="user_account.id")


class LivePrice(SQLModel, table=True):
    """A live-only price for one version of a product, below its normal price, for a
    limited quantity, a limit per buyer and a countdown.

    `sold_quantity` is taken by a conditional update in the order's transaction, and
    the CHECK behind it means it can never pass the limit, whatever the rush.
    """

    __tablename__ = "live_price"
    __table_args__ = (
        sa.CheckConstraint("sold_quantity >= 0 AND sold_quantity <= quantity_limit",
                           name="ck_live_price_sold_within_limit"),
        sa.CheckConstraint("quantity_limit > 0 AND per_buyer_limit > 0",
                           name="ck_live_price_limits_positive"),
        sa.CheckConstraint("price_amount > 0 AND price_amount < normal_amount",
                           name="ck_live_price_below_normal"),
        sa.CheckConstraint("ends_at > starts_at", name="ck_live_price_times"),
        sa.Index("ix_live_price_session_variant", "session_id", "variant_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="live_session.id", index=True, ondelete="CASCADE")
    product_id: int = Field(foreign_key="product.id")
    variant_id: int = Field(foreign_key="product_variant.id")
    price_amount: int
    normal_amount: int
    currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    quantity_limit: int
    per_buyer_limit: int
    sold_quantity: int = 0
    starts_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_by_id: int | None = Field(default=None, foreign_key="user_account.id")

    def running(self, now: datetime) -> bool:
        """True while the countdown runs and nobody stopped it (sold out or not)."""
        return self.stopped_at is None and self.starts_at <= now < self.ends_at

    @property
    def left(self) -> int:
        """Units still to be had at this price."""
        return self.quantity_limit - self.sold_quantity


class LivePriceClaim(SQLModel, table=True):
    """How many units one buyer (an account, an e-mail or a phone) has at a live price:
    the per-buyer limit is a conditional upsert on this row, in the order's transaction."""

    __tablename__ = "live_price_claim"
    __table_args__ = (
        sa.UniqueConstraint("live_price_id", "buyer_key", name="uq_live_price_claim"),
        sa.CheckConstraint("quantity >= 0", name="ck_live_price_claim_quantity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    live_price_id: int = Field(foreign_key="live_price.id", ondelete="CASCADE")
    buyer_key: str = Field(max_length=340)
    quantity: int


class LiveMessage(SQLModel, table=True):
    """A viewer's question or chat message, and the host's answer. Shown as text,
    never HTML; hidden ones leave every room at once."""

    __tablename__ = "live_message"
    __table_args__ = (sa.Index("ix_live_message_session_id", "session_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="live_session.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", index=True)
    author_name: str = Field(max_length=60)
    body: str = Field(max_length=MESSAGE_MAX_LENGTH)
    is_question: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    answer: str | None = Field(default=None, max_length=ANSWER_MAX_LENGTH)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    hidden_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    hidden_by_id: int | None = Field(default=None, foreign_key="user_account.id")


class LiveMute(SQLModel, table=True):
    """A viewer who may not post in one session any more."""

    __tablename__ = "live_mute"
    __table_args__ = (sa.UniqueConstraint("session_id", "user_id", name="uq_live_mute"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="live_session.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id")
    muted_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class BlockedWord(SQLModel, table=True):
    """A word a shop does not allow in its rooms' messages (`workshop_id` None: the whole
    platform's list, kept by operators)."""

    __tablename__ = "live_blocked_word"
    __table_args__ = (
        sa.UniqueConstraint("workshop_id", "word", name="uq_live_blocked_word"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workshop_id: int | None = Field(default=None, foreign_key="workshop.id", index=True,
                                    ondelete="CASCADE")
    word: str = Field(max_length=BLOCKED_WORD_MAX_LENGTH)
    added_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LiveCaption(SQLModel, table=True):
    """A line of live captions typed by the captioner, kept for the replay's track."""

    __tablename__ = "live_caption"
    __table_args__ = (sa.Index("ix_live_caption_session_at", "session_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="live_session.id", ondelete="CASCADE")
    text: str = Field(max_length=CAPTION_MAX_LENGTH)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    by_user_id: int | None = Field(default=None, foreign_key="user_account.id")


class LiveViewer(SQLModel, table=True):
    """Someone who watched a session while it was live (an account or a browser), once."""

    __tablename__ = "live_viewer"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "viewer_key", name="uq_live_viewer"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="live_session.id", ondelete="CASCADE")
    viewer_key: str = Field(max_length=64)
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
