"""CSRF: a form without its token says so above what was typed; other writes get 400."""

import pytest

from accounts.models import User
from tests.accounts.pages import count, csrf_token, error_summary, field_value
from tests.factories import PASSWORD, make_user

EXPIRED = "表单已经过期，所以什么都没有保存。请检查你填的内容，再提交一次。"


@pytest.fixture(autouse=True)
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True


@pytest.fixture
def person(db_session):
    with db_session() as session:
        return make_user(session, email="csrf@example.cn").id


def test_register_without_token_shows_the_expired_message_and_keeps_answers(client, db_session):
    response = client.post("/account/register", data={
        "display_name": "王芳", "email": "wang@example.cn", "phone": "13812345678",
        "password": "long enough pw", "password_again": "long enough pw"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert EXPIRED in error_summary(page)
    assert field_value(page, "display_name") == "王芳"
    assert field_value(page, "email") == "wang@example.cn"
    assert "long enough pw" not in page
    assert count(db_session, User) == 0


def test_register_with_a_forged_token_is_refused(client, db_session):
    client.get("/account/register")
    response = client.post("/account/register", data={
        "csrf_token": "forged", "display_name": "王芳", "email": "wang@example.cn",
        "password": "long enough pw", "password_again": "long enough pw"})
    assert response.status_code == 400
    assert EXPIRED in error_summary(response.get_data(as_text=True))
    assert count(db_session, User) == 0


def test_login_without_token_is_refused_and_signs_nobody_in(client, db_session, person):
    response = client.post("/account/login", data={"login": "csrf@example.cn",
                                                   "password": PASSWORD})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert EXPIRED in error_summary(page)
    assert field_value(page, "login") == "csrf@example.cn"
    with db_session(write=False) as session:
        assert session.get(User, person).last_login_at is None
    assert client.get("/account/").status_code == 302


def test_forms_work_with_the_token_from_the_page(client, person):
    token = csrf_token(client.get("/account/login").get_data(as_text=True))
    response = client.post("/account/login", data={"csrf_token": token,
                                                   "login": "csrf@example.cn",
                                                   "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200


def test_logout_without_token_is_a_chinese_400_page(client, person):
    token = csrf_token(client.get("/account/login").get_data(as_text=True))
    client.post("/account/login", data={"csrf_token": token, "login": "csrf@example.cn",
                                        "password": PASSWORD})
    response = client.post("/account/logout")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "这个表单已经过期。请返回，刷新页面后再提交一次。" in page
    assert "Traceback" not in page
    assert client.get("/account/").status_code == 200  # still signed in

    token = csrf_token(client.get("/account/").get_data(as_text=True))
    response = client.post("/account/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/account/").status_code == 302  # signed out


def test_a_form_shown_again_with_its_errors_carries_a_token_that_works(client, db_session):
    """The token is signed when the form is shown (core.forms), here for a browser whose
    session had none yet."""
    answers = {"display_name": "王芳", "email": "wang@example.cn", "phone": "13812345678",
               "password": "long enough pw", "password_again": "long enough pw"}
    refused = client.post("/account/register", data=answers)
    assert refused.status_code == 400
    token = csrf_token(refused.get_data(as_text=True))
    assert token
    response = client.post("/account/register", data={**answers, "csrf_token": token})
    assert response.status_code == 302
    assert count(db_session, User) == 1
