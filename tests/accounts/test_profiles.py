"""Maker and host profiles: saved as typed; a disability category only with consent."""

import pytest

from accounts import services
from accounts.models import HostProfile, MakerProfile, Role
from tests.accounts.pages import field_error
from tests.factories import login, make_user, make_workshop

PROFILE = {"public_name": "陈师傅", "story": "我做盘扣二十年了。", "show_name_publicly": "y",
           "show_story_publicly": "y"}


@pytest.fixture
def maker(client, db_session):
    with db_session() as session:
        user = make_user(session, email="maker@example.cn", roles=(Role.MAKER,))
        make_workshop(session, makers=[user])
    assert login(client, "maker@example.cn").status_code == 302
    return user.id


def _profile(db_session, user_id) -> MakerProfile:
    with db_session(write=False) as session:
        return session.get(MakerProfile, user_id)


def test_maker_profile_saves(client, db_session, maker):
    response = client.post("/account/maker-profile", data=PROFILE)
    assert response.status_code == 302
    profile = _profile(db_session, maker)
    assert (profile.public_name, profile.story) == ("陈师傅", "我做盘扣二十年了。")
    assert profile.show_name_publicly and profile.show_story_publicly
    page = client.get("/account/maker-profile").get_data(as_text=True)
    assert "陈师傅" in page


def test_disability_category_is_refused_without_consent(client, db_session, maker):
    # Said at the box (tests/accounts/test_consent.py), rather than dropped unseen.
    response = client.post("/account/maker-profile",
                           data={**PROFILE, "disability_category": "hearing"})
    assert response.status_code == 400
    profile = _profile(db_session, maker)
    assert profile.disability_category is None and profile.disability_consent is False


def test_disability_category_is_kept_with_consent_and_dropped_when_withdrawn(
        client, db_session, maker):
    client.post("/account/maker-profile", data={**PROFILE, "disability_category": "hearing",
                                                "disability_consent": "y"})
    profile = _profile(db_session, maker)
    assert (profile.disability_category, profile.disability_consent) == ("hearing", True)
    client.post("/account/maker-profile", data={**PROFILE, "disability_category": "hearing"})
    assert _profile(db_session, maker).disability_category is None


def test_service_drops_the_category_without_consent(db_session):
    with db_session() as session:
        user = make_user(session, roles=(Role.MAKER,))
        profile = services.save_maker_profile(session=session, user=user, public_name="x",
                                              disability_category="visual")
        assert profile.disability_category is None


def test_disability_category_never_appears_on_public_pages(client, db_session, maker):
    client.post("/account/maker-profile", data={**PROFILE, "disability_category": "intellectual",
                                                "disability_consent": "y"})
    assert _profile(db_session, maker).disability_category == "intellectual"
    client.post("/account/logout")
    for lang, words in (("zh_Hans_CN", ("智力",)), ("en", ("Intellectual", "intellectual"))):
        client.set_cookie("lang", lang)
        for path in ("/", "/help"):
            page = client.get(path).get_data(as_text=True)
            for word in words:
                assert word not in page, (path, word)


@pytest.mark.parametrize("changes, field", [
    ({"public_name": ""}, "public_name"),
    ({"public_name": "名" * 61}, "public_name"),
    ({"story": "故" * 4001}, "story"),
    ({"disability_category": "unknown"}, "disability_category"),
])
def test_bad_maker_profile_answers_write_nothing(client, db_session, maker, changes, field):
    before = _profile(db_session, maker)
    response = client.post("/account/maker-profile", data={**PROFILE, **changes})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), field)
    after = _profile(db_session, maker)
    assert (after.public_name, after.story) == (before.public_name, before.story)


def test_maker_profile_shows_hostile_html_escaped(client, db_session, maker):
    client.post("/account/maker-profile", data={**PROFILE, "public_name": "<img src=x>"})
    page = client.get("/account/maker-profile").get_data(as_text=True)
    assert "<img src=x>" not in page and "&lt;img src=x&gt;" in page


def test_host_profile_saves_is_deaf(client, db_session):
    with db_session() as session:
        host = make_user(session, email="host@example.cn", roles=(Role.HOST,))
    login(client, "host@example.cn")
    response = client.post("/account/host-profile",
                           data={"public_name": "小林", "bio": "聋人主播。", "is_deaf": "y"})
    assert response.status_code == 302
    with db_session(write=False) as session:
        profile = session.get(HostProfile, host.id)
        assert (profile.public_name, profile.bio, profile.is_deaf) == ("小林", "聋人主播。", True)
    client.post("/account/host-profile", data={"public_name": "小林", "bio": ""})
    with db_session(write=False) as session:
        assert session.get(HostProfile, host.id).is_deaf is False
    response = client.post("/account/host-profile", data={"public_name": ""})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "public_name") == "请填写观众看到的名字"
