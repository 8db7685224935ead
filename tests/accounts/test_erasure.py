"""Erasure pseudonymises a person: their details go, the books stay exact, a workshop still
reads what a former member earned; refused while money is owed; forged requests fail."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlmodel import func, select

from accounts.models import MakerProfile, User, UserRole
from core.audit import AuditEntry
from income.models import LedgerEntry, Payout
from income.queries import impact, this_month
from livestream.room_models import LiveMessage
from shop.models import Order, OrderLine
from tests.accounts.pages import csrf_token, error_summary
from tests.accounts.personal_data_world import (
    MAKER_EMAIL,
    MAKER_PHONE,
    SHOPPER_EMAIL,
    SHOPPER_PHONE,
    build,
)
from tests.factories import PASSWORD, login


def _world(app, db_session, *, pay_out=True):
    app.config["INCOME_HOLD_DAYS"] = 0  # so the maker can be paid out at once
    with db_session() as session:
        return build(session, pay_out=pay_out)


@pytest.fixture
def world(app, db_session):
    return _world(app, db_session)


def books(db_session, workshop_id) -> dict:
    """Every total the shop reports, to compare before and after an erasure."""
    with db_session(write=False) as session:
        def one(statement):
            return session.exec(statement).one()

        return {
            "ledger": one(select(func.count(), func.sum(LedgerEntry.amount))),
            "by_maker": sorted(session.exec(select(LedgerEntry.maker_id,
                                                   func.sum(LedgerEntry.amount))
                                            .group_by(LedgerEntry.maker_id)).all(),
                               key=lambda row: row[0] or 0),
            "workshop": one(select(func.sum(LedgerEntry.amount)).where(
                LedgerEntry.workshop_id == workshop_id)),
            "orders": one(select(func.count(), func.sum(Order.total_amount),
                                 func.sum(Order.paid_amount), func.sum(Order.refunded_amount))),
            "lines": one(select(func.count(), func.sum(OrderLine.line_total_amount))),
            "payouts": one(select(func.count(), func.sum(Payout.amount))),
            "impact": {key: value for key, value in impact(session, this_month()).items()
                       if isinstance(value, int)},
        }


def _row_text(db_session, user_id) -> str:
    with db_session(write=False) as session:
        row = session.exec(sa.select(sa.text("*")).select_from(User).where(
            User.id == user_id)).mappings().one()
        return " ".join(str(value) for value in row.values())


def _erase_myself(client, email, password=PASSWORD):
    login(client, email)
    return client.post("/account/erase", data={"confirm": "y", "password": password})


def test_a_shopper_erases_themselves_and_the_books_stay_exact(app, client, world, db_session):
    before = books(db_session, world["workshop"])
    elsewhere = app.test_client()
    login(elsewhere, SHOPPER_EMAIL)
    assert elsewhere.get("/account/").status_code == 200

    response = _erase_myself(client, SHOPPER_EMAIL)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/erased")

    assert books(db_session, world["workshop"]) == before
    row = _row_text(db_session, world["shopper"])
    for old in (SHOPPER_EMAIL, SHOPPER_PHONE, "李小红", "shopper.li"):
        assert old not in row
    with db_session(write=False) as session:
        user = session.get(User, world["shopper"])
        assert re.fullmatch(r"前成员 FM-[0-9A-F]{6}", user.display_name)
        assert user.email == f"{user.pseudonym.lower()}@erased.invalid"
        assert user.phone is None and not user.is_active_account
        assert user.erased_at is not None and user.last_login_at is None
        order = session.exec(select(Order).where(Order.number == world["order"])).one()
        assert (order.contact_name, order.email, order.phone, order.street) == (
            user.display_name, user.email, None, None)
        assert order.total_amount == 24000 and order.paid_amount == 24000
        message = session.exec(select(LiveMessage).where(
            LiveMessage.user_id == user.id)).one()
        assert message.author_name == user.display_name
        other = session.exec(select(Order).where(Order.number == world["other_order"])).one()
        assert other.phone == "13933334444" and other.street == "天童南路 7 号"
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "person.erase")).one()
        assert (audit.actor_id, audit.subject_id) == (user.id, str(user.id))
        assert audit.details == {"pseudonym": user.pseudonym, "orders": 1, "by_self": True}

    # Signed out here, and the session in the other browser is over too.
    assert client.get("/account/").status_code == 302
    assert elsewhere.get("/account/").status_code == 302
    assert login(client, SHOPPER_EMAIL).status_code == 400  # the form again: not signed in
    assert client.get("/account/").status_code == 302


def test_a_maker_erased_by_an_operator_stays_readable_to_the_coordinator(
        app, client, world, db_session):
    login(client, "coord@example.cn")
    workshop_before = client.get(f"/api/income/workshops/{world['workshop']}").get_json()
    maker_before = client.get(f"/api/income/makers/{world['maker']}").get_json()
    client.post("/account/logout")
    before = books(db_session, world["workshop"])

    login(client, "op.zhang@example.cn")
    page = client.get(f"/operator/users/{world['maker']}/erase")
    assert page.status_code == 200
    response = client.post(f"/operator/users/{world['maker']}/erase", data={"confirm": "y"})
    assert response.status_code == 302
    client.post("/account/logout")

    assert books(db_session, world["workshop"]) == before
    row = _row_text(db_session, world["maker"])
    for old in (MAKER_EMAIL, MAKER_PHONE, "王秀英"):
        assert old not in row
    with db_session(write=False) as session:
        maker = session.get(User, world["maker"])
        profile = session.get(MakerProfile, maker.id)
        assert (profile.public_name, profile.story, profile.disability_category) == (
            maker.display_name, "", None)
        assert session.exec(select(UserRole.role).where(UserRole.user_id == maker.id)).all() \
            == ["maker"]
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "person.erase")).one()
        assert (audit.actor_id, audit.details["by_self"]) == (world["operator"], False)

    login(client, "coord@example.cn")
    workshop_after = client.get(f"/api/income/workshops/{world['workshop']}").get_json()
    assert [(m["maker_id"], m["earned"], m["balance"]) for m in workshop_after["members"]] == [
        (m["maker_id"], m["earned"], m["balance"]) for m in workshop_before["members"]]
    names = {m["maker_id"]: m["name"] for m in workshop_after["members"]}
    assert names[world["maker"]] == maker.display_name
    maker_after = client.get(f"/api/income/makers/{world['maker']}").get_json()
    assert maker_after == maker_before
    page = client.get(f"/income/workshops/{world['workshop']}").get_data(as_text=True)
    assert f"前成员 {maker.pseudonym}" in page and "王秀英" not in page
    assert client.get(f"/income/makers/{world['maker']}").status_code == 200
    client.set_cookie("lang", "en")
    page = client.get(f"/income/workshops/{world['workshop']}").get_data(as_text=True)
    assert f"Former member {maker.pseudonym}" in page
    statement = client.get(f"/income/makers/{world['maker']}/statement/"
                           f"{workshop_after['month']}").get_data(as_text=True)
    assert f"Former member {maker.pseudonym}" in statement
    client.post("/account/logout")
    assert login(client, MAKER_EMAIL).status_code == 400  # cannot sign in
    assert client.get("/income").status_code == 302


def test_erasure_waits_while_the_shop_owes_the_maker_money(app, client, db_session):
    world = _world(app, db_session, pay_out=False)
    before = books(db_session, world["workshop"])
    page = client.get("/account/erase")  # not signed in
    assert page.status_code == 302
    login(client, MAKER_EMAIL)
    page = client.get("/account/erase").get_data(as_text=True)
    assert "¥342.00" in page and 'name="password"' not in page
    refused = client.post("/account/erase", data={"confirm": "y", "password": PASSWORD})
    assert refused.status_code == 200  # the same page, saying why; nothing done
    client.post("/account/logout")
    login(client, "op.zhang@example.cn")
    page = client.get(f"/operator/users/{world['maker']}/erase").get_data(as_text=True)
    assert "¥342.00" in page
    client.post(f"/operator/users/{world['maker']}/erase", data={"confirm": "y"})
    assert books(db_session, world["workshop"]) == before
    with db_session(write=False) as session:
        assert session.get(User, world["maker"]).email == MAKER_EMAIL
        assert session.exec(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "person.erase")).one() == 0


def test_an_order_under_way_keeps_its_details_until_it_is_done(app, client, world,
                                                               db_session):
    from tests.shop.helpers import place

    with db_session() as session:
        open_order = place(session, [(world["variant"], 1)], user_id=world["shopper"])
        number = open_order.number
    login(client, SHOPPER_EMAIL)
    page = client.get("/account/erase").get_data(as_text=True)
    assert number in page and 'name="password"' not in page
    client.post("/account/erase", data={"confirm": "y", "password": PASSWORD})
    with db_session(write=False) as session:
        assert session.get(User, world["shopper"]).erased_at is None


def _unchanged(db_session, user_id, email):
    with db_session(write=False) as session:
        user = session.get(User, user_id)
        assert (user.email, user.erased_at, user.is_active_account) == (email, None, True)
        assert session.exec(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "person.erase")).one() == 0


def test_a_wrong_password_or_no_tick_erases_nothing(client, world, db_session):
    response = _erase_myself(client, SHOPPER_EMAIL, password="not my password")
    assert response.status_code == 400
    assert "密码不对" in error_summary(response.get_data(as_text=True))
    response = client.post("/account/erase", data={"password": PASSWORD})
    assert response.status_code == 400
    _unchanged(db_session, world["shopper"], SHOPPER_EMAIL)
    assert client.get("/account/").status_code == 200


def test_only_an_operator_erases_someone_else(client, world, db_session):
    login(client, MAKER_EMAIL)
    assert client.post(f"/operator/users/{world['shopper']}/erase",
                       data={"confirm": "y"}).status_code == 403
    assert client.get(f"/operator/users/{world['shopper']}/erase").status_code == 403
    _unchanged(db_session, world["shopper"], SHOPPER_EMAIL)


@pytest.fixture
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True


def test_a_forged_erasure_without_the_token_is_refused(csrf_on, app, client, db_session):
    world = _world(app, db_session)
    token = csrf_token(client.get("/account/login").get_data(as_text=True))
    client.post("/account/login", data={"csrf_token": token, "login": "op.zhang@example.cn",
                                        "password": PASSWORD})
    assert client.post(f"/operator/users/{world['shopper']}/erase",
                       data={"confirm": "y"}).status_code == 400
    other = app.test_client()
    token = csrf_token(other.get("/account/login").get_data(as_text=True))
    other.post("/account/login", data={"csrf_token": token, "login": SHOPPER_EMAIL,
                                       "password": PASSWORD})
    assert other.post("/account/erase", data={"confirm": "y",
                                              "password": PASSWORD}).status_code == 400
    _unchanged(db_session, world["shopper"], SHOPPER_EMAIL)


def test_a_remember_me_cookie_stops_working_once_the_person_is_erased(app, client, world,
                                                                     db_session):
    remembered = app.test_client()
    remembered.post("/account/login", data={"login": SHOPPER_EMAIL, "password": PASSWORD,
                                            "remember": "y"})
    assert remembered.get_cookie("remember_token") is not None
    remembered.delete_cookie("session")  # the browser closed: only the cookie is left
    assert remembered.get("/account/").status_code == 200  # signed in again by it
    remembered.delete_cookie("session")
    login(client, "op.zhang@example.cn")
    assert client.post(f"/operator/users/{world['shopper']}/erase",
                       data={"confirm": "y"}).status_code == 302
    assert remembered.get("/account/").status_code == 302
