"""Operators record what each host is qualified for; hosts see it but cannot change it."""

import pytest
from sqlmodel import select

from accounts.models import HostCapability, HostRole, Role, SignLanguage
from tests.accounts.pages import field_error
from tests.factories import login, make_user


@pytest.fixture
def people(client, db_session):
    with db_session() as session:
        operator = make_user(session, email="op@example.cn", roles=(Role.OPERATOR,))
        host = make_user(session, email="host@example.cn", roles=(Role.SHOPPER,))
    assert login(client, "op@example.cn").status_code == 302
    return {"operator": operator.id, "host": host.id}


def _capabilities(db_session, user_id):
    with db_session(write=False) as session:
        return [(c.role, c.sign_language, c.level) for c in session.exec(
            select(HostCapability).where(HostCapability.user_id == user_id))]


def test_operator_adds_an_interpreter_qualification(client, db_session, people):
    response = client.post(f"/operator/users/{people['host']}/host-capabilities", data={
        "qualification-role": "sign_interpreter", "qualification-sign_language": "csl_national",
        "qualification-level": "2"})
    assert response.status_code == 302
    assert _capabilities(db_session, people["host"]) == [
        (HostRole.SIGN_INTERPRETER, SignLanguage.NATIONAL, 2)]
    page = client.get(f"/operator/users/{people['host']}").get_data(as_text=True)
    assert "手语翻译" in page and "国家通用手语" in page
    # Recording a qualification makes the person a host.
    with db_session(write=False) as session:
        from accounts.models import UserRole

        roles = set(session.exec(select(UserRole.role).where(UserRole.user_id == people["host"])))
    assert Role.HOST in roles


@pytest.mark.parametrize("data, field, message", [
    ({"qualification-role": "sign_interpreter", "qualification-level": "2"},
     "qualification-sign_language", "请选择这位翻译使用的手语"),
    ({"qualification-role": "juggler", "qualification-level": "2"}, "qualification-role", None),
    ({"qualification-role": "presenter", "qualification-level": "9"}, "qualification-level",
     None),
    ({"qualification-role": "presenter", "qualification-level": "<script>"},
     "qualification-level", None),
])
def test_bad_qualification_is_refused_and_nothing_is_written(client, db_session, people, data,
                                                             field, message):
    response = client.post(f"/operator/users/{people['host']}/host-capabilities", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<title>错误：" in html
    error = field_error(html, field)
    assert error
    if message:
        assert message in error
    assert "<script>" not in html
    assert _capabilities(db_session, people["host"]) == []


def test_unknown_user_is_404(client, people):
    response = client.post("/operator/users/999999/host-capabilities", data={
        "qualification-role": "presenter", "qualification-level": "0"})
    assert response.status_code == 404


def test_operator_removes_a_qualification_only_of_that_user(client, db_session, people):
    client.post(f"/operator/users/{people['host']}/host-capabilities", data={
        "qualification-role": "presenter", "qualification-level": "0"})
    with db_session(write=False) as session:
        capability_id = session.exec(select(HostCapability.id)).one()
    wrong = client.post(f"/operator/users/{people['operator']}/host-capabilities/"
                        f"{capability_id}/remove")
    assert wrong.status_code == 404
    assert len(_capabilities(db_session, people["host"])) == 1
    right = client.post(f"/operator/users/{people['host']}/host-capabilities/"
                        f"{capability_id}/remove")
    assert right.status_code == 302
    assert _capabilities(db_session, people["host"]) == []


def test_host_sees_qualifications_but_cannot_add_them(client, db_session, people):
    client.post(f"/operator/users/{people['host']}/host-capabilities", data={
        "qualification-role": "voice_interpreter", "qualification-sign_language": "zhejiang",
        "qualification-level": "3"})
    client.post("/account/logout")
    assert login(client, "host@example.cn").status_code == 302
    page = client.get("/account/host-profile").get_data(as_text=True)
    assert "语音翻译" in page and "浙江手语" in page
    response = client.post(f"/operator/users/{people['host']}/host-capabilities", data={
        "qualification-role": "presenter", "qualification-level": "3"})
    assert response.status_code == 403
    assert len(_capabilities(db_session, people["host"])) == 1
