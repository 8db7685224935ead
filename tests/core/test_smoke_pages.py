"""The pages every visitor can open answer in Chinese first, English on request."""

import pytest


@pytest.mark.parametrize("path", ["/", "/help", "/account/login", "/account/register",
                                  "/account/password/forgot"])
def test_public_pages_answer_in_chinese(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "工坊直播" in html
    assert 'href="#main"' in html and 'id="main"' in html


def test_language_switch_is_remembered_and_sets_html_lang(client):
    response = client.get("/language/en?next=/help")
    assert response.status_code == 302
    assert response.headers["Location"] == "/help"
    html = client.get("/help").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Help and accessibility" in html
    client.get("/language/zh_Hans_CN")
    assert '<html lang="zh-CN">' in client.get("/help").get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "/\\evil.example", "javascript:alert(1)"])
def test_language_switch_never_redirects_off_site(client, target):
    response = client.get("/language/en", query_string={"next": target})
    assert response.headers["Location"] == "/"


def test_unknown_language_is_404(client):
    assert client.get("/language/xx").status_code == 404


def _main_nav(html: str) -> list[tuple[str, bool]]:
    import re

    nav = html.split('class="wrap main-nav"', 1)[1].split("</nav>", 1)[0]
    return [(label, bool(current)) for current, label in re.findall(
        r'<li><a href="[^"]*"( aria-current="page")?>([^<]+)</a></li>', nav)]


def test_main_navigation_follows_the_reader_the_language_and_the_page(client, db_session):
    """The links are built once per kind of reader and language (core/navigation.py):
    each reader still sees their own, in their language, with the page they are on."""
    from accounts.models import Role
    from tests.factories import login, make_user

    home = _main_nav(client.get("/").get_data(as_text=True))
    assert ("首页", True) in home and ("登录", False) in home
    assert ("购物车", True) in _main_nav(client.get("/cart").get_data(as_text=True))
    client.get("/language/en")
    english = _main_nav(client.get("/cart").get_data(as_text=True))
    assert ("Cart", True) in english and ("Home", False) in english
    with db_session() as session:
        make_user(session, email="maker@example.cn", roles=(Role.MAKER,))
    login(client, "maker@example.cn")
    signed_in = dict(_main_nav(client.get("/").get_data(as_text=True)))
    assert "My income" in signed_in and "Sign in" not in signed_in
