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


def test_each_reader_sees_only_their_own_links(client, db_session):
    """Not "My stall" for everyone: each link is for the readers it serves, and the
    profile pages moved from the menu to the account page."""
    from accounts.models import Role
    from income.sales_points import add_member, create_sales_point
    from tests.factories import login, make_user

    with db_session() as session:
        make_user(session, email="shopper@example.cn")
        make_user(session, email="maker2@example.cn", roles=(Role.MAKER,))
        make_user(session, email="host2@example.cn", roles=(Role.HOST,))
        keeper = make_user(session, email="stall@example.cn")
        add_member(session=session, sales_point=create_sales_point(
            session=session, slug="gulou", name="鼓楼站"), user_id=keeper.id)
    anonymous = [label for label, _ in _main_nav(client.get("/").get_data(as_text=True))]
    assert anonymous == ["首页", "全部商品", "直播安排", "购物车", "登录", "注册账户"]
    seen = {}
    for email in ("shopper@example.cn", "maker2@example.cn", "host2@example.cn",
                  "stall@example.cn"):
        reader = client.application.test_client()
        login(reader, email)
        seen[email] = [label for label, _ in _main_nav(reader.get("/").get_data(as_text=True))]
    assert "我的摊位" not in seen["shopper@example.cn"]
    assert "我的摊位" not in seen["maker2@example.cn"]
    assert "我的摊位" in seen["stall@example.cn"]
    assert "我的收入" in seen["maker2@example.cn"] and "我的收入" not in seen["shopper@example.cn"]
    assert "我的班次" in seen["host2@example.cn"]
    for labels in seen.values():
        assert "手艺人资料" not in labels and "主播资料" not in labels
        assert len(labels) <= 10, labels
    maker = client.application.test_client()
    login(maker, "maker2@example.cn")
    account = maker.get("/account/").get_data(as_text=True)
    assert 'href="/account/maker-profile"' in account and "host-profile" not in account
