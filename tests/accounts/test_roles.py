"""Role checks: operator pages for operators only; makers' pages for makers."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from accounts.models import Role
from app import app as default_app
from tests.factories import login, make_user

OPERATOR_ROUTES = sorted(
    (rule.rule, method)
    for rule in default_app.url_map.iter_rules()
    if rule.rule.startswith("/operator")
    for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
)


def _url(rule: str) -> str:
    # Any id or slug will do: the role check comes before the lookup. An any(...)
    # converter takes its first choice.
    rule = re.sub(r"<any\(\s*'?([^,')]+)'?[^>]*>", r"\1", rule)
    return re.sub(r"<[^>]+>", "1", rule)


def _sign_in_as(client, db_session, *roles, email="someone@example.cn"):
    with db_session() as session:
        make_user(session, email=email, roles=roles)
    assert login(client, email).status_code == 302


def test_there_are_operator_routes():
    assert ("/operator/", "GET") in OPERATOR_ROUTES
    assert len(OPERATOR_ROUTES) >= 6


@pytest.mark.parametrize("rule, method", OPERATOR_ROUTES)
def test_maker_gets_403_on_every_operator_route(client, db_session, rule, method):
    _sign_in_as(client, db_session, Role.MAKER, Role.HOST, Role.SHOPPER)
    response = client.open(_url(rule), method=method)
    assert response.status_code == 403
    assert "你没有权限" in response.get_data(as_text=True)


@pytest.mark.parametrize("rule, method", OPERATOR_ROUTES)
def test_anonymous_is_sent_to_sign_in_with_next(client, rule, method):
    response = client.open(_url(rule), method=method)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/account/login"
    assert parse_qs(location.query)["next"] == [_url(rule)]


@pytest.mark.parametrize("rule, method", OPERATOR_ROUTES)
def test_json_clients_get_401_json(client, rule, method):
    response = client.open(_url(rule), method=method, headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("rule", [r for r, m in OPERATOR_ROUTES if m == "GET" and "<" not in r])
def test_operator_gets_200(client, db_session, rule):
    _sign_in_as(client, db_session, Role.OPERATOR)
    assert client.get(rule).status_code == 200


def test_operator_detail_pages_for_real_rows(client, db_session):
    from tests.factories import make_workshop

    with db_session() as session:
        workshop = make_workshop(session)
        other = make_user(session, email="other@example.cn")
        ids = (workshop.id, other.id)
    _sign_in_as(client, db_session, Role.OPERATOR)
    assert client.get(f"/operator/workshops/{ids[0]}").status_code == 200
    assert client.get(f"/operator/users/{ids[1]}").status_code == 200


def test_shopper_gets_403_on_the_maker_profile(client, db_session):
    _sign_in_as(client, db_session, Role.SHOPPER)
    assert client.get("/account/maker-profile").status_code == 403
    assert client.post("/account/maker-profile", data={"public_name": "x"}).status_code == 403
    assert client.get("/account/host-profile").status_code == 403


def test_anonymous_on_the_maker_profile_is_sent_to_sign_in(client):
    response = client.get("/account/maker-profile")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/account/login"
    assert parse_qs(location.query)["next"] == ["/account/maker-profile"]


def test_sign_in_follows_next_back_to_the_page(client, db_session):
    with db_session() as session:
        make_user(session, email="maker@example.cn", roles=(Role.MAKER,))
    location = client.get("/account/maker-profile").headers["Location"]
    response = client.post(location, data={"login": "maker@example.cn",
                                           "password": "correct horse battery"})
    assert response.headers["Location"] == "/account/maker-profile"


def test_next_keeps_the_query_string(client):
    response = client.get("/operator/users?q=王&page=2")
    next_url = parse_qs(urlsplit(response.headers["Location"]).query)["next"]
    assert next_url == ["/operator/users?q=王&page=2"]
