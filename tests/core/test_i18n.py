"""Languages: every string has Chinese; the reader's choice and the account's apply."""

import pytest

from core import translations_tool
from core.i18n import TRANSLATION_PACKAGES
from tests.factories import login, make_user


@pytest.mark.parametrize("package", TRANSLATION_PACKAGES)
def test_every_translatable_string_has_chinese(package):
    assert translations_tool.missing(package) == []


def test_chinese_is_the_default(client):
    html = client.get("/account/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "登录" in html


def test_language_cookie_switches_to_english_and_back(client):
    response = client.get("/language/en?next=/account/login")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "lang=en" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    html = client.get("/account/login").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Sign in" in html
    client.get("/language/zh_Hans_CN")
    assert '<html lang="zh-CN">' in client.get("/account/login").get_data(as_text=True)


def test_unknown_cookie_value_falls_back_to_chinese(client):
    client.set_cookie("lang", "klingon")
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(("header", "shown"), [
    ("en-US,en;q=0.9", "en"),
    ("en-GB", "en"),
    ("fr-FR,fr;q=0.9,en;q=0.5", "en"),
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
    ("zh-TW", "zh-CN"),
    ("zh;q=0.4, en;q=0.8", "en"),
    ("fr", "zh-CN"),
    ("*", "zh-CN"),
    ("x" * 5000, "zh-CN"),
])
def test_a_browser_asking_for_a_language_gets_it_without_a_cookie(client, header, shown):
    response = client.get("/account/login", headers={"Accept-Language": header})
    assert f'<html lang="{shown}">' in response.get_data(as_text=True)
    # Shared caches must keep the two languages of one address apart.
    assert "Accept-Language" in response.headers["Vary"]


def test_the_language_cookie_wins_over_the_browser(client):
    client.get("/language/zh_Hans_CN")
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in html


def test_the_accounts_language_wins_over_the_browser(client, db_session):
    with db_session() as session:
        make_user(session, email="zh2@example.cn")
    login(client, "zh2@example.cn")
    html = client.get("/account/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in html


def test_registering_from_an_english_browser_keeps_english(client, db_session):
    from sqlmodel import select

    from accounts.models import User

    headers = {"Accept-Language": "en-US,en;q=0.9"}
    response = client.post("/account/register", headers=headers, data={
        "display_name": "Wang Fang", "email": "en-browser@example.cn",
        "password": "long enough pw", "password_again": "long enough pw"})
    assert response.status_code == 302
    with db_session(write=False) as session:
        assert session.exec(select(User.locale)).one() == "en"


def test_signed_in_users_saved_locale_applies_without_a_cookie(client, db_session):
    with db_session() as session:
        make_user(session, email="en@example.cn", locale="en")
    login(client, "en@example.cn")
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html
    # The reader's explicit choice wins over the account's.
    client.set_cookie("lang", "zh_Hans_CN")
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


def test_saving_the_account_language_switches_the_site(client, db_session):
    with db_session() as session:
        make_user(session, email="zh@example.cn")
    login(client, "zh@example.cn")
    response = client.post("/account/", data={"display_name": "王芳", "locale": "en",
                                              "timezone": "Asia/Shanghai"})
    assert response.status_code == 302
    assert '<html lang="en">' in client.get("/account/").get_data(as_text=True)


def test_registration_keeps_a_valid_language_only(client, db_session):
    from sqlmodel import select

    from accounts.models import User

    client.set_cookie("lang", "x" * 300)
    response = client.post("/account/register", data={
        "display_name": "王芳", "email": "lang@example.cn", "password": "long enough pw",
        "password_again": "long enough pw"})
    assert response.status_code == 302
    with db_session(write=False) as session:
        assert session.exec(select(User.locale)).one() == "zh_Hans_CN"


def test_a_string_shared_by_packages_reads_the_same_everywhere():
    """Flask-Babel merges the packages' catalogs, so one msgid can only have one Chinese;
    two different translations would make the page depend on merge order."""
    from babel.messages.pofile import read_po

    from core.i18n import TRANSLATION_PACKAGES
    from core.translations_tool import po_path

    seen: dict[str, set[str]] = {}
    for package in TRANSLATION_PACKAGES:
        path = po_path(package)
        if not path.exists():
            continue
        with path.open("rb") as handle:
            for message in read_po(handle):
                if message.id and message.string and isinstance(message.id, str):
                    seen.setdefault(message.id, set()).add(message.string)
    assert {k: v for k, v in seen.items() if len(v) > 1} == {}
