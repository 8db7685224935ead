"""What the live edge knows about a session: its stream keys and when each picture
reached the edge. The keys are secrets: shown only in the control room."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime, enum_type, utcnow

STREAM_KEY_LENGTH = 43  # secrets.token_urlsafe(32)


class StreamRole(enum.StrEnum):
    """Whose picture a key pushes: the presenter's, or the interpreter's (shown
    picture-in-picture)."""

    PRESENTER = "presenter"
    INTERPRETER = "interpreter"

    @property
    def label(self):
        return STREAM_ROLE_LABELS[self]


STREAM_ROLE_LABELS = {
    StreamRole.PRESENTER: _l("Presenter's picture"),
    StreamRole.INTERPRETER: _l("Interpreter's picture"),
}


class LiveStreamKey(SQLModel, table=True):
    """One push key of a session (one per role). Renewing it replaces `key`, so a key
    that leaked stops working; `publishing_since` is set while the edge receives it."""

    __tablename__ = "live_stream_key"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "role", name="uq_live_stream_key_role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="live_session.id", ondelete="CASCADE")
    role: StreamRole = Field(sa_type=enum_type(StreamRole))
    key: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    publishing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
