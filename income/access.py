"""Who may see whose money: a maker their own, a coordinator their workshop, operators all.

Anything else is a 404, so a guessed id tells nothing about who exists.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import Session, select

from accounts.access import has_role
from accounts.models import Role, User, UserRole, Workshop, WorkshopMember
from core.errors import DomainError, NotFound
from income.queries import MAX_RANGE_DAYS, Period, month_period


def coordinated_workshops(session: Session, user_id: int) -> list[Workshop]:
    return list(session.exec(select(Workshop).join(
        WorkshopMember, WorkshopMember.workshop_id == Workshop.id).where(
        WorkshopMember.user_id == user_id, WorkshopMember.is_coordinator)
        .order_by(Workshop.name)).all())


def workshop_for(session: Session, workshop_id: int) -> Workshop:
    """The workshop if the reader coordinates it or is an operator; 404 otherwise."""
    workshop = session.get(Workshop, workshop_id)
    if workshop is None:
        raise NotFound()
    if has_role(Role.OPERATOR):
        return workshop
    if not any(w.id == workshop_id for w in coordinated_workshops(session, current_user.id)):
        raise NotFound()
    return workshop


def maker_for(session: Session, maker_id: int) -> User:
    """The maker if the reader is them, coordinates one of their workshops, or operates."""
    maker = session.get(User, maker_id)
    is_maker = maker is not None and session.exec(select(UserRole.id).where(
        UserRole.user_id == maker_id, UserRole.role == Role.MAKER)).first()
    if not is_maker:
        raise NotFound()
    if maker_id == current_user.id or has_role(Role.OPERATOR):
        return maker
    mine = {w.id for w in coordinated_workshops(session, current_user.id)}
    theirs = set(session.exec(select(WorkshopMember.workshop_id).where(
        WorkshopMember.user_id == maker_id)).all())
    if not mine & theirs:
        raise NotFound()
    return maker


def parse_month(text: str | None, default: Period) -> Period:
    if not text:
        return default
    try:
        year, month = (int(part) for part in text.split("-"))
        if not 2000 <= year <= 2100:
            raise ValueError
        return month_period(year, month)
    except ValueError as exc:
        raise DomainError(_("Enter the month as year and month, like 2026-11")) from exc


def parse_range(first: str | None, last: str | None, default: Period) -> Period:
    """A date range from the query string: both dates, right way round, a year at most."""
    if not first and not last:
        return default
    try:
        start = date.fromisoformat((first or "").strip())
        end = date.fromisoformat((last or "").strip())
    except ValueError as exc:
        raise DomainError(_("Enter dates as year-month-day, like 2026-11-01")) from exc
    if end < start:
        raise DomainError(_("The end date must be the same as or after the start date"))
    if end - start > timedelta(days=MAX_RANGE_DAYS - 1):
        raise DomainError(_("Choose a period of one year or less"))
    return Period(start, end)


def period_field(first: str | None) -> str:
    """Which field of a from/to pair `parse_range` refused: "from" if it is not a date."""
    try:
        date.fromisoformat((first or "").strip())
    except ValueError:
        return "from"
    return "to"
