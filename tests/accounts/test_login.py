"""Signing in and out: e-mail or phone, one message for every failure, safe cookies."""

import pytest
from sqlmodel import select

from accounts.models import User
from tests.accounts.pages import field_error, field_value
from tests.factories import PASSWORD, make_user

WRONG = "邮箱、手机号或密码不对"


@pytest.fixture
def person(db_session):
    with db_session() as session:
        return make_user(session, email="li.ming@example.cn", phone="13912345678").id


def _signed_in(client) -> bool:
    return "li.ming@example.cn" in client.get("/account/").get_data(as_text=True)


@pytest.mark.parametrize("login", ["li.ming@example.cn", "LI.MING@example.cn ",
                                   "13912345678", "+86 139 1234 5678"])
def test_sign_in_by_email_or_phone(client, db_session, person, login):
    response = client.post("/account/login", data={"login": login, "password": PASSWORD})
    assert response.status_code == 302
    assert _signed_in(client)
    with db_session(write=False) as session:
        assert session.get(User, person).last_login_at is not None


def test_wrong_password_and_unknown_account_look_the_same(client, person):
    wrong = client.post("/account/login", data={"login": "li.ming@example.cn",
                                                "password": "not the password"})
    unknown = client.post("/account/login", data={"login": "nobody@example.cn",
                                                  "password": "not the password"})
    unknown_phone = client.post("/account/login", data={"login": "13000000000",
                                                        "password": "not the password"})
    for response in (wrong, unknown, unknown_phone):
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert field_error(page, "password") == WRONG
        assert field_error(page, "login") is None
        assert field_value(page, "password") in (None, "")
        assert "not the password" not in page
    assert field_value(wrong.get_data(as_text=True), "login") == "li.ming@example.cn"
    assert not _signed_in(client)


def test_failed_sign_in_writes_nothing(client, db_session, person):
    client.post("/account/login", data={"login": "li.ming@example.cn", "password": "nope"})
    with db_session(write=False) as session:
        assert session.get(User, person).last_login_at is None


@pytest.mark.parametrize("data, field, message", [
    ({"login": "", "password": "x"}, "login", "请填写邮箱或手机号"),
    ({"login": "li.ming@example.cn", "password": ""}, "password", "请填写密码"),
    ({"login": "x" * 400, "password": "x"}, "login", "邮箱不能超过320个字符"),
])
def test_missing_answers(client, person, data, field, message):
    response = client.post("/account/login", data=data)
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), field) == message


def test_inactive_account_cannot_sign_in(client, db_session, person):
    with db_session() as session:
        session.get(User, person).is_active_account = False
    response = client.post("/account/login", data={"login": "li.ming@example.cn",
                                                   "password": PASSWORD})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "password") == WRONG
    assert not _signed_in(client)


def test_deactivated_account_is_signed_out(client, db_session, person):
    client.post("/account/login", data={"login": "li.ming@example.cn", "password": PASSWORD})
    assert _signed_in(client)
    with db_session() as session:
        session.get(User, person).is_active_account = False
    assert not _signed_in(client)


@pytest.mark.parametrize("next_url, expected", [
    ("/help", "/help"),
    ("/account/?tab=1", "/account/?tab=1"),
    ("https://evil.example/", "/"),
    ("//evil.example/x", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("http:/evil.example", "/"),
])
def test_next_only_follows_local_paths(client, person, next_url, expected):
    response = client.post("/account/login", query_string={"next": next_url},
                           data={"login": "li.ming@example.cn", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_logout_is_post_only(client, person):
    client.post("/account/login", data={"login": "li.ming@example.cn", "password": PASSWORD})
    assert client.get("/account/logout").status_code == 405
    assert _signed_in(client)
    response = client.post("/account/logout")
    assert response.status_code == 302
    assert not _signed_in(client)


def _cookie(response, name):
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            return header
    return None


def test_session_cookie_is_httponly_and_lax(client, person):
    response = client.post("/account/login", data={"login": "li.ming@example.cn",
                                                   "password": PASSWORD})
    session_cookie = _cookie(response, "session")
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Secure" not in session_cookie  # development over plain http
    assert _cookie(response, "remember_token") is None


def test_remember_me_cookie_flags(client, person):
    response = client.post("/account/login", data={"login": "li.ming@example.cn",
                                                   "password": PASSWORD, "remember": "y"})
    remember = _cookie(response, "remember_token")
    assert remember is not None
    assert "HttpOnly" in remember and "SameSite=Lax" in remember and "Expires=" in remember


def test_production_cookies_are_secure(app_config, db_session):
    from app import create_app
    from core.config import load_config

    production = load_config({"GONGFANG_ENV": "production", "SECRET_KEY": "s" * 20 + "Q9!" * 8,
                              "INSTANCE_DIR": app_config["INSTANCE_DIR"]})
    cookie_settings = {k: v for k, v in production.items() if "COOKIE" in k}
    application = create_app({**app_config, **cookie_settings, "ENVIRONMENT": "production"})
    try:
        with application.app_context():
            from core.db import transaction

            with transaction(application.extensions["database"].engine) as session:
                make_user(session, email="prod@example.cn")
        client = application.test_client()
        response = client.post("/account/login", base_url="https://shop.example",
                               data={"login": "prod@example.cn", "password": PASSWORD,
                                     "remember": "y"})
        assert response.status_code == 302
        for name in ("session", "remember_token"):
            cookie = _cookie(response, name)
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        # The reader's choices are cookies too, and Secure like the rest in production.
        language = client.get("/language/en", base_url="https://shop.example")
        zone = client.get("/time-zone?zone=Europe/London", base_url="https://shop.example")
        for response, name in ((language, "lang"), (zone, "tz")):
            cookie = _cookie(response, name)
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        application.extensions["database"].engine.dispose()


def test_signed_in_user_reads_their_own_account_only(client, db_session, person):
    with db_session() as session:
        other = make_user(session, email="other@example.cn")
        assert session.exec(select(User).where(User.id == other.id)).one()
    client.post("/account/login", data={"login": "li.ming@example.cn", "password": PASSWORD})
    page = client.get("/account/").get_data(as_text=True)
    assert "other@example.cn" not in page


def test_remember_me_keeps_you_signed_in_after_the_browser_closes(client, person):
    client.post("/account/login", data={"login": "li.ming@example.cn", "password": PASSWORD,
                                        "remember": "y"})
    client.delete_cookie("session")  # the browser closed: only the remember-me cookie is left
    for _page in range(3):
        assert _signed_in(client)
    assert client.get_cookie("remember_token") is not None


def test_a_shoppers_pages_do_not_resend_their_session_or_clear_cookies(client, db_session):
    """Sign-in protection has nothing to check in a session without a sign-in: an
    anonymous shopper's cart pages send no cookie back unless something changed."""
    from tests.shop.helpers import make_shop

    with db_session() as session:
        _product, variant = make_shop(session, stock=5)["items"][0]
    client.post("/cart/add", data={"variant_id": variant.id, "quantity": 1})
    assert "Set-Cookie" in client.get("/cart").headers  # "added to cart" was shown once
    response = client.get("/cart")
    assert response.status_code == 200
    assert response.headers.getlist("Set-Cookie") == []


def test_a_sign_in_carried_to_another_browser_is_dropped(client, person):
    client.post("/account/login", data={"login": "li.ming@example.cn", "password": PASSWORD},
                headers={"User-Agent": "Browser A"})
    assert "li.ming@example.cn" in client.get(
        "/account/", headers={"User-Agent": "Browser A"}).get_data(as_text=True)
    page = client.get("/account/", headers={"User-Agent": "Browser B"}, follow_redirects=True)
    assert "li.ming@example.cn" not in page.get_data(as_text=True)
