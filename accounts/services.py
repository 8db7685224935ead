"""Writes for accounts: registration, roles, workshops and profiles. They flush, never
commit; the request or job around them commits once."""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from accounts import consent
from accounts.auth import hash_password
from accounts.models import (
    HostCapability,
    HostProfile,
    HostRole,
    MakerProfile,
    Role,
    SignLanguage,
    User,
    UserRole,
    Workshop,
    WorkshopKind,
    WorkshopMember,
)
from core.db import utcnow
from core.errors import Conflict, NotFound

PHONE_PATTERN = re.compile(r"^1[3-9]\d{9}$")


class DuplicateAccount(Conflict):
    """E-mail or phone already belongs to an account; `field` says which."""

    def __init__(self, field: str) -> None:
        super().__init__(code="duplicate_" + field)
        self.field = field


def normalise_email(email: str) -> str:
    """E-mail addresses compare without case or surrounding spaces."""
    return email.strip().lower()


def normalise_phone(phone: str | None) -> str | None:
    """Mainland mobile numbers without spaces, dashes or a +86 prefix."""
    if not phone:
        return None
    digits = re.sub(r"[\s\-()]", "", phone)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits or None


def find_user_by_login(*, session: Session, login: str) -> User | None:
    """The account with this e-mail or mobile number, if any."""
    login = login.strip()
    if "@" in login:
        return session.exec(select(User).where(User.email == normalise_email(login))).first()
    phone = normalise_phone(login)
    if not phone:
        return None
    return session.exec(select(User).where(User.phone == phone)).first()


def register_user(*, session: Session, email: str, password: str, display_name: str,
                  phone: str | None = None, locale: str = "zh_Hans_CN",
                  roles: tuple[Role, ...] = (Role.SHOPPER,)) -> User:
    """Create an account; raises DuplicateAccount naming the field already taken."""
    email = normalise_email(email)
    phone = normalise_phone(phone)
    if session.exec(select(User.id).where(User.email == email)).first() is not None:
        raise DuplicateAccount("email")
    if phone and session.exec(select(User.id).where(User.phone == phone)).first() is not None:
        raise DuplicateAccount("phone")
    user = User(email=email, phone=phone, display_name=display_name.strip(),
                password_hash=hash_password(password), locale=locale)
    # A savepoint, so a registration racing ours turns into a clear message and the
    # request's other work is kept.
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError as exc:
        field = "phone" if phone and "phone" in str(exc.orig).lower() else "email"
        raise DuplicateAccount(field) from exc
    for role in roles:
        session.add(UserRole(user_id=user.id, role=role))
    session.flush()
    return user


def set_password(*, session: Session, user: User, password: str) -> None:
    """Replace the password; outstanding reset tokens stop working."""
    user.password_hash = hash_password(password)
    session.add(user)
    session.flush()


def grant_role(*, session: Session, user: User, role: Role, by: User | None = None) -> None:
    """Give `user` the role if they do not hold it yet."""
    exists = session.exec(select(UserRole.id).where(
        UserRole.user_id == user.id, UserRole.role == role)).first()
    if exists is None:
        session.add(UserRole(user_id=user.id, role=role, granted_by_id=by.id if by else None))
        session.flush()


def set_roles(*, session: Session, user: User, roles: set[Role], by: User) -> None:
    """Make the user's roles exactly `roles`."""
    current = {row.role: row for row in session.exec(
        select(UserRole).where(UserRole.user_id == user.id)).all()}
    for role, row in current.items():
        if role not in roles:
            session.delete(row)
    for role in roles - set(current):
        session.add(UserRole(user_id=user.id, role=role, granted_by_id=by.id))
    session.flush()


def create_workshop(*, session: Session, slug: str, name: str, kind: WorkshopKind,
                    district: str | None = None, story: str = "", name_en: str | None = None,
                    story_en: str | None = None, is_featured: bool = False) -> Workshop:
    """Add a workshop; the slug must be unused."""
    if session.exec(select(Workshop.id).where(Workshop.slug == slug)).first() is not None:
        raise Conflict(code="duplicate_slug")
    workshop = Workshop(slug=slug, name=name.strip(), kind=kind, district=district,
                        story=story, name_en=name_en, story_en=story_en,
                        is_featured=is_featured)
    session.add(workshop)
    session.flush()
    return workshop


def add_member(*, session: Session, workshop: Workshop, user: User,
               is_coordinator: bool = False) -> WorkshopMember:
    """Make `user` a maker in `workshop` (granting the maker role)."""
    member = session.exec(select(WorkshopMember).where(
        WorkshopMember.workshop_id == workshop.id, WorkshopMember.user_id == user.id)).first()
    if member is None:
        member = WorkshopMember(workshop_id=workshop.id, user_id=user.id)
    member.is_coordinator = is_coordinator
    session.add(member)
    grant_role(session=session, user=user, role=Role.MAKER)
    if session.get(MakerProfile, user.id) is None:
        session.add(MakerProfile(user_id=user.id, public_name=user.display_name))
    session.flush()
    return member


def remove_member(*, session: Session, workshop: Workshop, user_id: int) -> None:
    """Take a maker out of a workshop (their past sales stay in the books)."""
    member = session.exec(select(WorkshopMember).where(
        WorkshopMember.workshop_id == workshop.id, WorkshopMember.user_id == user_id)).first()
    if member is None:
        raise NotFound()
    session.delete(member)
    session.flush()


def save_maker_profile(*, session: Session, user: User, **fields) -> MakerProfile:
    """Create or update the maker's profile with the given fields."""
    profile = session.get(MakerProfile, user.id) or MakerProfile(
        user_id=user.id, public_name=user.display_name)
    for name, value in fields.items():
        setattr(profile, name, value)
    consent.apply_disability_choice(session, profile)  # the category is kept only with consent
    profile.updated_at = utcnow()
    session.add(profile)
    session.flush()
    return profile


def save_host_profile(*, session: Session, user: User, public_name: str, bio: str,
                      is_deaf: bool) -> HostProfile:
    """Create or update the host's profile."""
    profile = session.get(HostProfile, user.id) or HostProfile(user_id=user.id,
                                                               public_name=public_name)
    profile.public_name = public_name
    profile.bio = bio
    profile.is_deaf = is_deaf
    profile.updated_at = utcnow()
    session.add(profile)
    session.flush()
    return profile


def set_host_capability(*, session: Session, user: User, role: HostRole,
                        sign_language: SignLanguage | None = None,
                        level: int = 0) -> HostCapability:
    """Record (or change the level of) a role a host can take."""
    capability = session.exec(select(HostCapability).where(
        HostCapability.user_id == user.id, HostCapability.role == role,
        HostCapability.sign_language == sign_language if sign_language
        else HostCapability.sign_language.is_(None))).first()
    if capability is None:
        capability = HostCapability(user_id=user.id, role=role, sign_language=sign_language)
    capability.level = level
    session.add(capability)
    grant_role(session=session, user=user, role=Role.HOST)
    session.flush()
    return capability
