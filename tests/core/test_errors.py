"""Error pages: in the reader's language, no tracebacks; JSON for the API."""

import pytest
from sqlmodel import func, select

from accounts.models import Role
from core.db import get_session
from core.mail import OutboxMail
from tests.factories import login, make_user


def _no_traceback(html: str) -> None:
    assert "Traceback" not in html
    assert "File \"" not in html
    assert "werkzeug" not in html.lower()


@pytest.mark.parametrize("lang, expect_lang", [("zh_Hans_CN", "zh-CN"), ("en", "en")])
def test_404_and_405_pages_in_each_language(client, lang, expect_lang):
    client.set_cookie("lang", lang)
    for path, method, status in [("/no/such/page", "get", 404),
                                 ("/account/logout", "get", 405)]:
        response = getattr(client, method)(path)
        assert response.status_code == status
        html = response.get_data(as_text=True)
        assert f'<html lang="{expect_lang}">' in html
        _no_traceback(html)
        if lang == "en":
            assert {404: "Page not found", 405: "not allowed here"}[status] in html
        else:
            assert "Page not found" not in html and "not allowed here" not in html


@pytest.mark.parametrize("lang, words", [("zh_Hans_CN", None), ("en", "You cannot see this page")])
def test_403_page_in_each_language(client, db_session, lang, words):
    with db_session() as session:
        make_user(session, email="maker@example.cn", roles=(Role.MAKER,))
    login(client, "maker@example.cn")
    client.set_cookie("lang", lang)
    response = client.get("/operator/")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    _no_traceback(html)
    if words:
        assert words in html
    else:
        assert "You cannot see this page" not in html
        assert '<html lang="zh-CN">' in html


def test_chinese_error_titles_are_translated(app):
    from core.errors import ERROR_TITLES

    with app.test_request_context("/"):
        for status, title in ERROR_TITLES.items():
            assert any("\u4e00" <= ch <= "\u9fff" for ch in str(title)), status


@pytest.mark.parametrize("path, method, status, code", [
    ("/api/no-such-thing", "get", 404, "404"),
])
def test_api_paths_get_json_errors(client, path, method, status, code):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_json_clients_get_json_errors_elsewhere(client):
    response = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "404"


def test_unexpected_exception_shows_500_without_traceback_and_saves_nothing(
        app, client, db_session):
    @app.post("/_test/explode")
    def explode():
        session = get_session()
        session.add(OutboxMail(to_address="a@example.cn", subject="s", body_text="b"))
        session.flush()
        raise RuntimeError("secret internal detail")

    response = client.post("/_test/explode")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    _no_traceback(html)
    assert "secret internal detail" not in html
    assert "RuntimeError" not in html
    assert '<html lang="zh-CN">' in html
    with db_session(write=False) as session:
        assert session.exec(select(func.count()).select_from(OutboxMail)).one() == 0


def test_unexpected_exception_on_the_api_is_json(app, client):
    @app.get("/api/_test/explode")
    def explode_api():
        raise RuntimeError("secret internal detail")

    response = client.get("/api/_test/explode")
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "500"
    assert "secret" not in response.get_data(as_text=True)
