"""Operators onboard workshops and members and set roles; mistakes write nothing."""

import pytest
from sqlmodel import select

from accounts.models import MakerProfile, Role, User, UserRole, Workshop, WorkshopMember
from tests.accounts.pages import count, field_error, field_value
from tests.factories import login, make_user, make_workshop

WORKSHOP = {"name": "盘扣工坊", "name_en": "Knot-button workshop", "slug": "pankou-workshop",
            "kind": "workshop", "district": "海曙区", "story": "我们做盘扣。"}


@pytest.fixture
def operator(client, db_session):
    with db_session() as session:
        user = make_user(session, email="op@example.cn", roles=(Role.OPERATOR,))
    assert login(client, "op@example.cn").status_code == 302
    return user.id


def _roles(db_session, user_id) -> set[Role]:
    with db_session(write=False) as session:
        return set(session.exec(select(UserRole.role).where(UserRole.user_id == user_id)))


def test_operator_creates_a_workshop(client, db_session, operator):
    response = client.post("/operator/workshops/new", data=WORKSHOP)
    assert response.status_code == 302
    with db_session(write=False) as session:
        workshop = session.exec(select(Workshop)).one()
    assert (workshop.slug, workshop.name, workshop.kind) == ("pankou-workshop", "盘扣工坊",
                                                             "workshop")
    assert response.headers["Location"] == f"/operator/workshops/{workshop.id}"


def test_duplicate_slug_is_refused(client, db_session, operator):
    client.post("/operator/workshops/new", data=WORKSHOP)
    response = client.post("/operator/workshops/new", data={**WORKSHOP, "name": "另一个"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, "slug") == "这个网址名已经被别的工坊用了"
    assert field_value(page, "name") == "另一个"
    assert count(db_session, Workshop) == 1


@pytest.mark.parametrize("slug", ["Pankou", "pan kou", "pankou_", "-pankou", "盘扣",
                                  "<script>", "a" * 81])
def test_bad_slug_is_refused(client, db_session, operator, slug):
    response = client.post("/operator/workshops/new", data={**WORKSHOP, "slug": slug})
    assert response.status_code == 400
    message = field_error(response.get_data(as_text=True), "slug")
    assert message in ("只能用小写字母、数字和短横线，比如 pankou-workshop",
                       "网址名不能超过80个字符")
    assert "<script>" not in response.get_data(as_text=True).split("<main", 1)[1] \
        .replace("<script src=", "")
    assert count(db_session, Workshop) == 0


@pytest.mark.parametrize("changes, field", [
    ({"name": ""}, "name"), ({"kind": "castle"}, "kind"), ({"name": "名" * 101}, "name"),
])
def test_other_bad_workshop_answers(client, db_session, operator, changes, field):
    response = client.post("/operator/workshops/new", data={**WORKSHOP, **changes})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), field)
    assert count(db_session, Workshop) == 0


@pytest.mark.parametrize("login_text", ["maker@example.cn", "MAKER@example.cn",
                                        "13712345678", "+86 137 1234 5678"])
def test_add_member_by_email_or_phone(client, db_session, operator, login_text):
    with db_session() as session:
        workshop = make_workshop(session)
        maker = make_user(session, email="maker@example.cn", phone="13712345678")
    response = client.post(f"/operator/workshops/{workshop.id}",
                           data={"login": login_text, "is_coordinator": "y"})
    assert response.status_code == 302
    assert _roles(db_session, maker.id) == {Role.SHOPPER, Role.MAKER}
    with db_session(write=False) as session:
        member = session.exec(select(WorkshopMember)).one()
        profile = session.get(MakerProfile, maker.id)
    assert (member.workshop_id, member.user_id, member.is_coordinator) == (
        workshop.id, maker.id, True)
    assert profile is not None and profile.public_name == maker.display_name
    assert maker.display_name in client.get(f"/operator/workshops/{workshop.id}").get_data(
        as_text=True)


def test_unknown_member_gets_a_message(client, db_session, operator):
    with db_session() as session:
        workshop = make_workshop(session)
    response = client.post(f"/operator/workshops/{workshop.id}",
                           data={"login": "nobody@example.cn"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, "login") == "没有账户用这个邮箱或手机号。请让手艺人先注册。"
    assert field_value(page, "login") == "nobody@example.cn"
    assert count(db_session, WorkshopMember) == 0


def test_operator_sets_a_users_roles(client, db_session, operator):
    with db_session() as session:
        person = make_user(session, email="p@example.cn")
    response = client.post(f"/operator/users/{person.id}",
                           data={"roles": ["maker", "host"], "is_active_account": "y"})
    assert response.status_code == 302
    assert _roles(db_session, person.id) == {Role.MAKER, Role.HOST}
    response = client.post(f"/operator/users/{person.id}", data={"roles": ["shopper"]})
    assert response.status_code == 302
    assert _roles(db_session, person.id) == {Role.SHOPPER}
    with db_session(write=False) as session:
        assert session.get(User, person.id).is_active_account is False


def test_unknown_role_is_refused(client, db_session, operator):
    with db_session() as session:
        person = make_user(session, email="p@example.cn")
    response = client.post(f"/operator/users/{person.id}",
                           data={"roles": ["emperor"], "is_active_account": "y"})
    assert response.status_code == 400
    assert _roles(db_session, person.id) == {Role.SHOPPER}


def test_operator_cannot_remove_their_own_operator_role(client, db_session, operator):
    response = client.post(f"/operator/users/{operator}", data={"roles": ["shopper"]})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "roles") == \
        "你不能取消自己的运营人员角色"
    assert _roles(db_session, operator) == {Role.OPERATOR}
    with db_session(write=False) as session:
        assert session.get(User, operator).is_active_account is True


def test_operator_cannot_deactivate_themselves(client, db_session, operator):
    response = client.post(f"/operator/users/{operator}", data={"roles": ["operator"]})
    assert response.status_code == 302
    with db_session(write=False) as session:
        assert session.get(User, operator).is_active_account is True


def test_operator_removes_a_member(client, db_session, operator):
    with db_session() as session:
        maker = make_user(session, email="maker@example.cn")
        workshop = make_workshop(session, makers=[maker])
    response = client.post(f"/operator/workshops/{workshop.id}/members/{maker.id}/remove")
    assert response.status_code == 302
    assert count(db_session, WorkshopMember) == 0
    assert count(db_session, User) == 2  # the person stays


@pytest.mark.parametrize("method, path", [
    ("get", "/operator/users/999999"),
    ("post", "/operator/users/999999"),
    ("get", "/operator/workshops/999999"),
    ("post", "/operator/workshops/999999"),
    ("post", "/operator/workshops/999999/members/1/remove"),
    ("post", "/operator/workshops/{workshop}/members/999999/remove"),
    ("post", "/operator/workshops/{workshop}/members/{stranger}/remove"),
])
def test_ids_that_do_not_exist_are_404(client, db_session, operator, method, path):
    with db_session() as session:
        maker = make_user(session, email="maker@example.cn")
        stranger = make_user(session, email="stranger@example.cn")
        workshop = make_workshop(session, makers=[maker])
    response = getattr(client, method)(path.format(workshop=workshop.id, stranger=stranger.id),
                                       data={"login": "maker@example.cn", "roles": ["maker"]})
    assert response.status_code == 404
    assert count(db_session, WorkshopMember) == 1
    assert _roles(db_session, stranger.id) == {Role.SHOPPER}


def test_user_search_escapes_and_finds(client, db_session, operator):
    with db_session() as session:
        make_user(session, email="findme@example.cn", name="<b>陈</b>")
    page = client.get("/operator/users", query_string={"q": "findme"}).get_data(as_text=True)
    assert "findme@example.cn" in page
    assert "<b>陈</b>" not in page and "&lt;b&gt;陈" in page
    assert client.get("/operator/users", query_string={"page": "x" * 50}).status_code == 200
    assert client.get("/operator/users", query_string={"q": "%" * 500}).status_code == 200
