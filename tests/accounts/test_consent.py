"""Consent to keep a disability category: recorded with its date when given, withdrawn
with its date (clearing the category), and nothing kept without it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from accounts.models import DataConsent, MakerProfile, Role
from tests.accounts.pages import csrf_token, field_error
from tests.factories import login, make_user, make_workshop

PROFILE = {"public_name": "王师傅", "story": "", "disability_category": "visual"}


@pytest.fixture
def maker(db_session):
    with db_session() as session:
        user = make_user(session, roles=(Role.MAKER,), email="maker@example.cn")
        make_workshop(session, makers=[user])
        return user.id


def _consents(db_session, user_id):
    with db_session(write=False) as session:
        return session.exec(select(DataConsent).where(DataConsent.user_id == user_id)
                            .order_by(DataConsent.id)).all()


def _category(db_session, user_id):
    with db_session(write=False) as session:
        profile = session.get(MakerProfile, user_id)
        return profile.disability_category, profile.disability_consent


def test_giving_the_category_with_consent_records_the_date(client, maker, db_session):
    login(client, "maker@example.cn")
    start = datetime.now(UTC)
    response = client.post("/account/maker-profile", data={**PROFILE,
                                                           "disability_consent": "y"})
    assert response.status_code == 302
    [consent] = _consents(db_session, maker)
    assert consent.category == "disability" and consent.withdrawn_at is None
    assert start <= consent.given_at <= datetime.now(UTC)
    assert _category(db_session, maker) == ("visual", True)
    # Saving again changes nothing about when consent was given.
    client.post("/account/maker-profile", data={**PROFILE, "disability_consent": "y",
                                                "disability_category": "hearing"})
    assert [c.id for c in _consents(db_session, maker)] == [consent.id]
    page = client.get("/account/maker-profile").get_data(as_text=True)
    assert 'action="/account/maker-profile/withdraw-consent"' in page


def test_withdrawing_clears_the_category_and_records_the_date(client, maker, db_session):
    login(client, "maker@example.cn")
    client.post("/account/maker-profile", data={**PROFILE, "disability_consent": "y"})
    response = client.post("/account/maker-profile/withdraw-consent")
    assert response.status_code == 302
    [consent] = _consents(db_session, maker)
    assert consent.withdrawn_at is not None and consent.withdrawn_at >= consent.given_at
    assert _category(db_session, maker) == (None, False)
    page = client.get("/account/maker-profile").get_data(as_text=True)
    assert "withdraw-consent" not in page
    # Given again later: a new consent with its own date; the withdrawn one stays.
    client.post("/account/maker-profile", data={**PROFILE, "disability_consent": "y"})
    first, second = _consents(db_session, maker)
    assert first.withdrawn_at is not None and second.withdrawn_at is None
    assert second.given_at >= first.withdrawn_at


def test_unticking_consent_on_the_profile_withdraws_it(client, maker, db_session):
    login(client, "maker@example.cn")
    client.post("/account/maker-profile", data={**PROFILE, "disability_consent": "y"})
    client.post("/account/maker-profile", data={**PROFILE, "disability_category": ""})
    [consent] = _consents(db_session, maker)
    assert consent.withdrawn_at is not None
    assert _category(db_session, maker) == (None, False)


def test_a_category_without_consent_is_refused_and_not_stored(client, maker, db_session):
    login(client, "maker@example.cn")
    response = client.post("/account/maker-profile", data=PROFILE)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, "disability_consent") == (
        "勾选同意我们记录你的残疾类别，或者选择“不想说”")
    assert _consents(db_session, maker) == []
    assert _category(db_session, maker) == (None, False)


@pytest.fixture
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True


def test_a_forged_withdrawal_without_the_token_changes_nothing(csrf_on, client, maker,
                                                                db_session):
    token = csrf_token(client.get("/account/login").get_data(as_text=True))
    client.post("/account/login", data={"csrf_token": token, "login": "maker@example.cn",
                                        "password": "correct horse battery"})
    token = csrf_token(client.get("/account/maker-profile").get_data(as_text=True))
    client.post("/account/maker-profile", data={**PROFILE, "disability_consent": "y",
                                                "csrf_token": token})
    assert client.post("/account/maker-profile/withdraw-consent").status_code == 400
    [consent] = _consents(db_session, maker)
    assert consent.withdrawn_at is None
    assert _category(db_session, maker) == ("visual", True)


def test_withdrawal_needs_a_maker_signed_in(client, maker, db_session):
    assert client.post("/account/maker-profile/withdraw-consent").status_code == 302
    with db_session() as session:
        make_user(session, email="shopper@example.cn")
    login(client, "shopper@example.cn")
    assert client.post("/account/maker-profile/withdraw-consent").status_code == 403
