"""Live sessions: what is streamed, when, and which products are shown."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime, enum_type, utcnow


class SessionStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"

    @property
    def label(self):
        return SESSION_STATUS_LABELS[self]


SESSION_STATUS_LABELS = {
    SessionStatus.DRAFT: _l("Draft"),
    SessionStatus.SCHEDULED: _l("Coming up"),
    SessionStatus.LIVE: _l("Live now"),
    SessionStatus.ENDED: _l("Ended"),
    SessionStatus.CANCELLED: _l("Cancelled"),
}


class LiveSession(SQLModel, table=True):
    """One live stream, planned in UTC and shown in the viewer's zone."""

    __tablename__ = "live_session"
    __table_args__ = (
        sa.CheckConstraint("planned_end > planned_start", name="ck_live_session_times"),
        sa.Index("ix_live_session_status_start", "status", "planned_start"),
    )

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=120, unique=True)
    title: str = Field(max_length=120)
    title_en: str | None = Field(default=None, max_length=120)
    description: str = Field(default="", sa_type=sa.Text)
    description_en: str | None = Field(default=None, sa_type=sa.Text)
    workshop_id: int | None = Field(default=None, foreign_key="workshop.id", index=True)
    presenter_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    stream_url: str | None = Field(default=None, max_length=500)
    captions_url: str | None = Field(default=None, max_length=500)
    planned_start: datetime = Field(sa_type=UTCDateTime)
    planned_end: datetime = Field(sa_type=UTCDateTime)
    status: SessionStatus = Field(default=SessionStatus.DRAFT, sa_type=enum_type(SessionStatus))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LiveSessionProduct(SQLModel, table=True):
    """A product to present in a session, in order."""

    __tablename__ = "live_session_product"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "product_id", name="uq_live_session_product"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="live_session.id", index=True, ondelete="CASCADE")
    product_id: int = Field(foreign_key="product.id", index=True)
    position: int = 0
