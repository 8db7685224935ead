"""Live sessions: what is streamed, when, and which products are shown."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Field, SQLModel

from accounts.models import HostRole, SignLanguage
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
    series_id: int | None = Field(default=None, foreign_key="live_series.id", index=True)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The interpreter's own picture, when they stream apart (shown picture-in-picture),
    # and the recording the replay plays.
    interpreter_stream_url: str | None = Field(default=None, max_length=500)
    recording_url: str | None = Field(default=None, max_length=500)
    # Set by the live edge: when its recording begins (chapters count from there) and
    # the interpreter's own recording, played picture-in-picture in the replay.
    recording_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    interpreter_recording_url: str | None = Field(default=None, max_length=500)
    interpreter_recording_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def signer_offset_seconds(self) -> float:
        """How far into the presenter's recording the interpreter's begins (the replay
        keeps the two pictures in step)."""
        if not (self.recording_started_at and self.interpreter_recording_started_at):
            return 0.0
        return (self.interpreter_recording_started_at
                - self.recording_started_at).total_seconds()
    peak_viewers: int = 0

    @property
    def minutes(self) -> int:
        """Planned length in minutes."""
        return int((self.planned_end - self.planned_start).total_seconds() // 60)


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


class RepeatFrequency(enum.StrEnum):
    WEEKLY = "weekly"
    DAILY = "daily"

    @property
    def label(self):
        return REPEAT_LABELS[self]


REPEAT_LABELS = {
    RepeatFrequency.WEEKLY: _l("Every week"),
    RepeatFrequency.DAILY: _l("Every day"),
}


class LiveSeries(SQLModel, table=True):
    """A recurring session's rule (e.g. every Friday 19:00); it always ends, by a count or
    a date, so the sessions it made are a bounded list."""

    __tablename__ = "live_series"

    id: int | None = Field(default=None, primary_key=True)
    frequency: RepeatFrequency = Field(sa_type=enum_type(RepeatFrequency))
    interval: int = Field(default=1, ge=1, le=52)
    count: int | None = Field(default=None, ge=1)
    until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rrule: str = Field(max_length=200)  # the RFC 5545 rule, for calendars
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LiveSessionSlot(SQLModel, table=True):
    """A seat in a session's team: a role, a sign language and the level it needs.

    A team of interpreters holds one slot each over the same time and swaps every
    `swap_minutes`; because their slots overlap, one person can never hold two of them.
    `host_id` is taken with a conditional UPDATE (`WHERE host_id IS NULL`), so of two
    hosts claiming at once exactly one wins.
    """

    __tablename__ = "live_session_slot"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ck_live_session_slot_times"),
        sa.CheckConstraint("min_level >= 0 AND min_level <= 3", name="ck_live_session_slot_level"),
        sa.Index("ix_live_session_slot_host_time", "host_id", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="live_session.id", index=True, ondelete="CASCADE")
    role: HostRole = Field(sa_type=enum_type(HostRole))
    sign_language: SignLanguage | None = Field(default=None, sa_type=enum_type(SignLanguage))
    min_level: int = 0
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    is_required: bool = False
    team_size: int = 1
    team_position: int = 1
    swap_minutes: int | None = None
    host_id: int | None = Field(default=None, foreign_key="user_account.id")
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    assigned_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    late_release_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    late_released_by_id: int | None = Field(default=None, foreign_key="user_account.id")

    @property
    def minutes(self) -> int:
        """How long the slot lasts."""
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class ReminderRequest(SQLModel, table=True):
    """A shopper asked to be reminded before a session starts."""

    __tablename__ = "live_reminder_request"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "user_id", name="uq_live_reminder_request"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="live_session.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SentReminder(SQLModel, table=True):
    """That a reminder went out: the unique key makes every reminder job idempotent."""

    __tablename__ = "live_sent_reminder"
    __table_args__ = (
        sa.UniqueConstraint("kind", "subject_key", "user_id", name="uq_live_sent_reminder"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    subject_key: str = Field(max_length=80)  # e.g. "slot:12" or "session:3"
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Notice(SQLModel, table=True):
    """An in-app message for one person (reminders, alerts), shown on their notices page."""

    __tablename__ = "live_notice"
    __table_args__ = (sa.Index("ix_live_notice_user_created", "user_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    subject: str = Field(max_length=300)
    body: str = Field(default="", sa_type=sa.Text)
    link: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class HostCalendarFeed(SQLModel, table=True):
    """A host's private calendar address: whoever has the token sees their slots."""

    __tablename__ = "live_host_calendar_feed"

    user_id: int = Field(foreign_key="user_account.id", primary_key=True, ondelete="CASCADE")
    token: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
