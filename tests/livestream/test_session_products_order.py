"""The products a session presents keep their order through an edit, and an operator
can set it by numbering them."""

from __future__ import annotations

import pytest
from sqlmodel import select
from werkzeug.datastructures import MultiDict

from accounts.models import Role
from livestream import services
from livestream.models import LiveSession, LiveSessionProduct
from tests.factories import login, make_product, make_user, make_workshop
from tests.form_submit import form_fields
from tests.livestream.factories import make_host, plan_session


@pytest.fixture
def lineup(client, db_session):
    """A session presenting C, A, B (the form lists products by title: A, B, C)."""
    with db_session() as session:
        workshop = make_workshop(session)
        products = {key: make_product(session, workshop=workshop, title=f"{key}号商品")
                    for key in "ABCD"}
        live = plan_session(session, presenter=make_host(session))
        services.set_products(session=session, live=live, product_ids=(
            products["C"].id, products["A"].id, products["B"].id))
        make_user(session, roles=(Role.OPERATOR,), email="op-lineup@example.cn")
        ids = {key: product.id for key, product in products.items()}
        live_id = live.id
    login(client, "op-lineup@example.cn")
    return {"live": live_id, **ids}


def _order(db_session, live_id):
    with db_session(write=False) as session:
        return list(session.exec(select(LiveSessionProduct.product_id).where(
            LiveSessionProduct.session_id == live_id).order_by(LiveSessionProduct.position)))


def _edit_page(client, live_id):
    page = client.get(f"/operator/live/{live_id}/edit")
    assert page.status_code == 200
    return MultiDict(form_fields(page.get_data(as_text=True)))


def test_saving_without_a_change_keeps_the_order(client, db_session, lineup):
    fields = _edit_page(client, lineup["live"])
    assert fields.getlist("product_ids") == [str(lineup[k]) for k in "CAB"]
    assert [fields[f"place-{lineup[k]}"] for k in "CABD"] == ["1", "2", "3", ""]
    response = client.post(f"/operator/live/{lineup['live']}/edit", data=fields)
    assert response.status_code == 303
    assert _order(db_session, lineup["live"]) == [lineup[k] for k in "CAB"]


def test_numbering_the_products_sets_their_order(client, db_session, lineup):
    fields = _edit_page(client, lineup["live"])
    fields.add("product_ids", str(lineup["D"]))
    fields[f"place-{lineup['D']}"] = "1"
    fields[f"place-{lineup['C']}"] = "3"
    fields[f"place-{lineup['A']}"] = ""   # unnumbered: after the numbered ones
    fields[f"place-{lineup['B']}"] = "2"
    response = client.post(f"/operator/live/{lineup['live']}/edit", data=fields)
    assert response.status_code == 303
    assert _order(db_session, lineup["live"]) == [lineup[k] for k in "DBCA"]
    # The form shows the new order the next time.
    again = _edit_page(client, lineup["live"])
    assert again.getlist("product_ids") == [str(lineup[k]) for k in "DBCA"]


@pytest.mark.parametrize("place", ["0", "-1", "abc", "201", "1.5", "9" * 50])
def test_a_bad_place_is_a_form_error_and_changes_nothing(client, db_session, lineup, place):
    with db_session(write=False) as session:
        title_before = session.get(LiveSession, lineup["live"]).title
    fields = _edit_page(client, lineup["live"])
    fields[f"place-{lineup['A']}"] = place
    fields["title"] = "改过的标题"
    response = client.post(f"/operator/live/{lineup['live']}/edit", data=fields)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "每件商品的顺序请填 1 到 200 的整数，或者留空" in page
    assert f'value="{place}"' in page  # what was typed is kept
    assert _order(db_session, lineup["live"]) == [lineup[k] for k in "CAB"]
    with db_session(write=False) as session:
        assert session.get(LiveSession, lineup["live"]).title == title_before


def test_a_new_session_takes_its_products_in_the_numbered_order(client, db_session, lineup):
    fields = MultiDict(form_fields(client.get("/operator/live/new").get_data(as_text=True)))
    with db_session(write=False) as session:
        presenter = session.get(LiveSession, lineup["live"]).presenter_id
    base = _edit_page(client, lineup["live"])
    for name in ("start_date", "start_time", "end_time"):
        fields[name] = base[name]
    fields["title"] = "新的一场"
    fields["presenter_id"] = ""
    fields.setlist("product_ids", [str(lineup["A"]), str(lineup["B"])])
    fields[f"place-{lineup['B']}"] = "1"
    fields[f"place-{lineup['A']}"] = "2"
    assert presenter  # the first session keeps its presenter; this one has none yet
    response = client.post("/operator/live/new", data=fields)
    assert response.status_code == 303
    with db_session(write=False) as session:
        new = session.exec(select(LiveSession).where(LiveSession.title == "新的一场")).one()
    assert _order(db_session, new.id) == [lineup["B"], lineup["A"]]
