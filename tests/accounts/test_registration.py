"""Registration: a shopper account, clear messages for every bad answer, nothing written."""

import pytest
from sqlmodel import select

from accounts.models import Role, User, UserRole
from tests.accounts.pages import count, error_summary, field_error, field_value
from tests.factories import make_user

GOOD = {"display_name": "王芳", "email": "wang.fang@example.cn", "phone": "138 1234 5678",
        "password": "long enough pw", "password_again": "long enough pw"}


def _register(client, **changes):
    data = {**GOOD, **changes}
    return client.post("/account/register", data={k: v for k, v in data.items()
                                                   if v is not None})


def test_registration_signs_in_a_shopper(client, db_session):
    response = _register(client, email="  Wang.Fang@Example.CN ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    with db_session(write=False) as session:
        user = session.exec(select(User)).one()
        roles = session.exec(select(UserRole.role).where(UserRole.user_id == user.id)).all()
    assert user.email == "wang.fang@example.cn"
    assert user.phone == "13812345678"
    assert user.password_hash != GOOD["password"]
    assert roles == [Role.SHOPPER]
    page = client.get("/account/").get_data(as_text=True)
    assert "wang.fang@example.cn" in page


def _assert_nothing_written(db_session, users_before=0):
    assert count(db_session, User) == users_before
    assert count(db_session, UserRole) == users_before


@pytest.mark.parametrize("email", ["wang.fang@example.cn", "WANG.Fang@example.CN",
                                   " wang.fang@example.cn "])
def test_duplicate_email_is_refused_on_the_email_field(client, db_session, email):
    with db_session() as session:
        make_user(session, email="wang.fang@example.cn")
    response = _register(client, email=email, phone=None)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, "email") == "这个邮箱已经注册过了。请直接登录。"
    assert field_error(page, "phone") is None
    _assert_nothing_written(db_session, 1)


@pytest.mark.parametrize("phone", ["13812345678", "+86 138 1234 5678", "0086-138-1234-5678",
                                   "138 1234 5678"])
def test_duplicate_phone_is_refused_on_the_phone_field(client, db_session, phone):
    with db_session() as session:
        make_user(session, email="first@example.cn", phone="13812345678")
    response = _register(client, phone=phone)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, "phone") == "这个手机号已经注册过了。请直接登录。"
    assert field_error(page, "email") is None
    _assert_nothing_written(db_session, 1)


@pytest.mark.parametrize("changes, field, message", [
    ({"display_name": ""}, "display_name", "请填写你的名字"),
    ({"display_name": None}, "display_name", "请填写你的名字"),
    ({"email": ""}, "email", "请填写你的邮箱"),
    ({"email": "not-an-address"}, "email", "请按正确格式填写邮箱，比如 name@example.com"),
    ({"email": "a@b"}, "email", "请按正确格式填写邮箱，比如 name@example.com"),
    ({"email": "x" * 400 + "@example.cn"}, "email", "邮箱不能超过320个字符"),
    ({"phone": "12345"}, "phone", "请填写11位手机号，比如 13812345678"),
    ({"phone": "23812345678"}, "phone", "请填写11位手机号，比如 13812345678"),
    ({"phone": "1381234567x"}, "phone", "请填写11位手机号，比如 13812345678"),
    ({"password": "", "password_again": ""}, "password", "请设置密码"),
    ({"password": "short", "password_again": "short"}, "password", "密码要有10到200个字符"),
    ({"password": "p" * 201, "password_again": "p" * 201}, "password",
     "密码要有10到200个字符"),
    ({"password_again": "something else"}, "password_again", "两次输入的密码不一样"),
    ({"display_name": "名" * 10_000}, "display_name", "名字不能超过60个字"),
])
def test_bad_answers_get_a_message_and_keep_what_was_typed(client, db_session, changes, field,
                                                          message):
    response = _register(client, **changes)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, field) == message
    assert message in error_summary(page)
    assert f'href="#{field}"' in error_summary(page)
    assert "<title>错误：" in page
    data = {**GOOD, **changes}
    for kept in ("display_name", "email", "phone"):
        if data.get(kept):
            assert field_value(page, kept) == data[kept]
    for secret in ("password", "password_again"):
        assert field_value(page, secret) in (None, "")
    assert "long enough pw" not in page
    _assert_nothing_written(db_session)


def test_hostile_html_in_the_name_is_shown_escaped(client, db_session):
    hostile = '<script>alert("x")</script>'
    response = _register(client, display_name=hostile, password_again="mismatch!!!")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page
    assert field_value(page, "display_name") == hostile
    # Saved as typed, and shown escaped once signed in.
    response = _register(client, display_name=hostile)
    assert response.status_code == 302
    page = client.get("/account/").get_data(as_text=True)
    assert "<script>alert" not in page
    page = client.get("/").get_data(as_text=True)
    assert "<script>alert" not in page


def test_english_messages_for_an_english_reader(client, db_session):
    client.set_cookie("lang", "en")
    page = _register(client, email="").get_data(as_text=True)
    assert field_error(page, "email") == "Enter your email address"
    assert "<title>Error: " in page
