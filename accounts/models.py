"""Users and their roles, workshops and membership, maker and host profiles."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime, enum_type, utcnow


class Role(enum.StrEnum):
    SHOPPER = "shopper"
    MAKER = "maker"
    HOST = "host"
    OPERATOR = "operator"

    @property
    def label(self):
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.SHOPPER: _l("Shopper"),
    Role.MAKER: _l("Maker"),
    Role.HOST: _l("Host"),
    Role.OPERATOR: _l("Operator"),
}


class WorkshopKind(enum.StrEnum):
    WORKSHOP = "workshop"          # 共富工坊, common-prosperity workshop
    HOME = "home"                  # 残疾人之家, a disabled people's home
    STUDIO = "studio"              # 文创馆 or other creative studio
    INDIVIDUAL = "individual"      # one maker working alone

    @property
    def label(self):
        return WORKSHOP_KIND_LABELS[self]


WORKSHOP_KIND_LABELS = {
    WorkshopKind.WORKSHOP: _l("Common-prosperity workshop"),
    WorkshopKind.HOME: _l("Home for disabled people"),
    WorkshopKind.STUDIO: _l("Creative studio"),
    WorkshopKind.INDIVIDUAL: _l("Individual maker"),
}


class HostRole(enum.StrEnum):
    PRESENTER = "presenter"
    SIGN_INTERPRETER = "sign_interpreter"
    VOICE_INTERPRETER = "voice_interpreter"
    CAPTIONER = "captioner"
    ASSISTANT = "assistant"

    @property
    def label(self):
        return HOST_ROLE_LABELS[self]


HOST_ROLE_LABELS = {
    HostRole.PRESENTER: _l("Presenter"),
    HostRole.SIGN_INTERPRETER: _l("Sign-language interpreter"),
    HostRole.VOICE_INTERPRETER: _l("Voice interpreter"),
    HostRole.CAPTIONER: _l("Captioner"),
    HostRole.ASSISTANT: _l("Assistant"),
}


class SignLanguage(enum.StrEnum):
    NATIONAL = "csl_national"      # 国家通用手语
    ZHEJIANG = "zhejiang"          # regional variants
    SHANGHAI = "shanghai"

    @property
    def label(self):
        return SIGN_LANGUAGE_LABELS[self]


SIGN_LANGUAGE_LABELS = {
    SignLanguage.NATIONAL: _l("National common sign language"),
    SignLanguage.ZHEJIANG: _l("Zhejiang sign language"),
    SignLanguage.SHANGHAI: _l("Shanghai sign language"),
}


class User(UserMixin, SQLModel, table=True):
    """A person who can log in. Phone and e-mail are personal data: shown to themselves
    and operators only, kept out of logs."""

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    phone: str | None = Field(default=None, max_length=20, unique=True)
    display_name: str = Field(max_length=60)
    password_hash: str = Field(max_length=255)
    locale: str = Field(default="zh_Hans_CN", max_length=12)
    # An IANA zone the person chose; None means the shop's zone (core.timezones).
    timezone: str | None = Field(default=None, max_length=64)
    is_active_account: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when the person's data was erased (accounts.erasure): the row stays for the
    # books under a stable pseudonym ("FM-3F9A2C"), with no way to sign in.
    pseudonym: str | None = Field(default=None, max_length=20, unique=True)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        return self.is_active_account and self.erased_at is None

    def __repr__(self) -> str:  # keeps e-mail and phone out of logs and tracebacks
        return f"<User {self.id}>"


class UserRole(SQLModel, table=True):
    """A role a user holds; a user may hold several."""

    __tablename__ = "user_role"
    __table_args__ = (sa.UniqueConstraint("user_id", "role", name="uq_user_role"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    role: Role = Field(sa_type=enum_type(Role))
    granted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    granted_by_id: int | None = Field(default=None, foreign_key="user_account.id")


class Workshop(SQLModel, table=True):
    """A workshop, home, studio or individual maker that goods come from."""

    __tablename__ = "workshop"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, unique=True)
    name: str = Field(max_length=100)
    name_en: str | None = Field(default=None, max_length=100)
    kind: WorkshopKind = Field(sa_type=enum_type(WorkshopKind))
    district: str | None = Field(default=None, max_length=40)
    story: str = Field(default="", sa_type=sa.Text)
    story_en: str | None = Field(default=None, sa_type=sa.Text)
    is_featured: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WorkshopMember(SQLModel, table=True):
    """A maker's membership of a workshop; coordinators list goods for everyone."""

    __tablename__ = "workshop_member"
    __table_args__ = (sa.UniqueConstraint("workshop_id", "user_id", name="uq_workshop_member"),)

    id: int | None = Field(default=None, primary_key=True)
    workshop_id: int = Field(foreign_key="workshop.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    is_coordinator: bool = False
    joined_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MakerProfile(SQLModel, table=True):
    """What a maker chooses to tell shoppers. The disability category is kept only with
    consent and is never shown publicly (impact reports count it, nothing more)."""

    __tablename__ = "maker_profile"

    user_id: int = Field(foreign_key="user_account.id", primary_key=True, ondelete="CASCADE")
    public_name: str = Field(max_length=60)
    story: str = Field(default="", sa_type=sa.Text)
    story_en: str | None = Field(default=None, sa_type=sa.Text)
    photo_path: str | None = Field(default=None, max_length=200)
    show_name_publicly: bool = False
    show_story_publicly: bool = False
    disability_category: str | None = Field(default=None, max_length=40)
    disability_consent: bool = False
    district: str | None = Field(default=None, max_length=40)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class HostProfile(SQLModel, table=True):
    """A host's public name and whether they are deaf (decides the interpreter needed)."""

    __tablename__ = "host_profile"

    user_id: int = Field(foreign_key="user_account.id", primary_key=True, ondelete="CASCADE")
    public_name: str = Field(max_length=60)
    bio: str = Field(default="", sa_type=sa.Text)
    is_deaf: bool = False
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class HostCapability(SQLModel, table=True):
    """A role a host can take, with a sign language and qualification level where it
    applies (level 1 = basic ... 3 = senior; 0 where no level is needed)."""

    __tablename__ = "host_capability"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "role", "sign_language", name="uq_host_capability"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    role: HostRole = Field(sa_type=enum_type(HostRole))
    sign_language: SignLanguage | None = Field(default=None, sa_type=enum_type(SignLanguage))
    level: int = Field(default=0, ge=0, le=3)


class DataConsent(SQLModel, table=True):
    """A person's consent to keep one kind of sensitive data ("disability"), with when it
    was given and, once withdrawn, when. A new consent after a withdrawal is a new row,
    so the history of what the person agreed to stays readable."""

    __tablename__ = "data_consent"
    __table_args__ = (sa.Index("ix_data_consent_user_category", "user_id", "category"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    category: str = Field(max_length=40)
    given_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
