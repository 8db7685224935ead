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
