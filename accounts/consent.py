"""Consent to keep a disability category: given with its date, withdrawn with its date.

The category is sensitive personal information under China's PIPL (art. 28): it is kept
only while an open consent row exists, and withdrawing clears it at once.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from accounts.models import DataConsent, MakerProfile
from core.db import utcnow

DISABILITY = "disability"


def open_consent(session: Session, user_id: int, category: str = DISABILITY) -> DataConsent | None:
    """The consent in force for `category`, if any."""
    return session.exec(select(DataConsent).where(
        DataConsent.user_id == user_id, DataConsent.category == category,
        DataConsent.withdrawn_at.is_(None)).order_by(DataConsent.id.desc())).first()


def consents_of(session: Session, user_id: int) -> list[DataConsent]:
    """Every consent the person gave, oldest first."""
    return list(session.exec(select(DataConsent).where(DataConsent.user_id == user_id)
                             .order_by(DataConsent.given_at, DataConsent.id)).all())


def apply_disability_choice(session: Session, profile: MakerProfile) -> None:
    """Keep the profile's category only with consent: record consent when a category is
    given with it, withdraw it (clearing the category) when it is taken back."""
    keep = bool(profile.disability_consent and profile.disability_category)
    if keep:
        if open_consent(session, profile.user_id) is None:
            session.add(DataConsent(user_id=profile.user_id, category=DISABILITY))
        return
    profile.disability_category, profile.disability_consent = None, False
    _withdraw(session, profile.user_id)


def withdraw_disability_consent(session: Session, user_id: int) -> bool:
    """Withdraw consent and clear the category; False if none was in force."""
    withdrawn = _withdraw(session, user_id)
    profile = session.get(MakerProfile, user_id)
    if profile is not None:
        profile.disability_category, profile.disability_consent = None, False
        profile.updated_at = utcnow()
        session.add(profile)
    session.flush()
    return withdrawn


def _withdraw(session: Session, user_id: int) -> bool:
    result = session.execute(sa.update(DataConsent).where(
        DataConsent.user_id == user_id, DataConsent.category == DISABILITY,
        DataConsent.withdrawn_at.is_(None)).values(withdrawn_at=utcnow()))
    return result.rowcount > 0
