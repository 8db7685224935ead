"""A studio selling another workshop's goods: the ledger's split and its refund, each
party's page showing its part (they add up to the sale), and refused input."""

from __future__ import annotations

import re

import pytest
from sqlmodel import func, select

from accounts.models import Role, WorkshopKind
from catalog.models import Product
from core.audit import AuditEntry
from core.errors import NotAllowed
from income import ledger, studios
from income.models import EntryKind, LedgerEntry, StudioCommission
from shop.models import Order
from shop.refunds import refund_order
from tests.factories import login, make_user, make_workshop
from tests.income.helpers import maker_shop, paid_order


@pytest.fixture
def world(app, db_session):
    """A fabric workshop (two makers, 60/40, a coordinator) whose ¥128 tote a studio sells
    at 10%, another studio, an operator; two totes paid (platform fee 5%)."""
    with db_session() as session:
        shop = maker_shop(session, shares=(6000, 4000), price=12800)
        people = {k: make_user(session, roles=(r,)) for k, r in (
            ("maker_coordinator", Role.MAKER), ("studio_coordinator", Role.MAKER),
            ("other_coordinator", Role.MAKER), ("operator", Role.OPERATOR))}
        from accounts import services as account_services
        account_services.add_member(session=session, workshop=shop["workshop"],
                                    user=people["maker_coordinator"], is_coordinator=True)
        studio = make_workshop(session, name="灿益测试文创馆", kind=WorkshopKind.STUDIO,
                               coordinator=people["studio_coordinator"])
        other = make_workshop(session, name="别的文创馆", kind=WorkshopKind.STUDIO,
                              coordinator=people["other_coordinator"])
        studios.set_studio_rate(session=session, studio_id=studio.id, rate_basis_points=1000,
                                by_user_id=people["operator"].id)
        # The making workshop's coordinator hands the tote over: that is its consent.
        studios.set_selling_studio(session=session, product_id=shop["product"].id,
                                   studio_id=studio.id,
                                   by_user_id=people["maker_coordinator"].id)
    with db_session() as session:
        order = paid_order(session, [(shop["variant"].id, 2)])
    return {"order_id": order.id, "product_id": shop["product"].id,
            "slug": shop["product"].slug, "workshop_id": shop["workshop"].id,
            "studio_id": studio.id, "other_id": other.id,
            "makers": [m.id for m in shop["makers"]],
            "maker_emails": [m.email for m in shop["makers"]],
            "emails": {k: u.email for k, u in people.items()},
            "operator_id": people["operator"].id,
            "studio_coordinator_id": people["studio_coordinator"].id}


def _parts(session, order_id):
    rows = session.exec(select(LedgerEntry.kind, LedgerEntry.maker_id, LedgerEntry.studio_id,
                               LedgerEntry.amount).where(LedgerEntry.order_id == order_id)
                        .order_by(LedgerEntry.id)).all()
    return [(str(k), m, s, a) for k, m, s, a in rows]


def test_a_paid_line_is_split_between_platform_studio_and_makers_and_refunds_exactly(
        db_session, world):
    with db_session() as session:
        parts = _parts(session, world["order_id"])
        a, b = world["makers"]
        studio = world["studio_id"]
        # ¥256: platform 5% = ¥12.80; studio 10% of the ¥243.20 left = ¥24.32; the
        # makers' ¥218.88 split 60/40 by largest remainder: ¥131.33 and ¥87.55.
        assert sorted(parts) == sorted([
            ("sale", a, studio, 13133), ("sale", b, studio, 8755),
            ("commission", None, studio, 1280), ("studio_fee", None, studio, 2432)])
        assert sum(p[3] for p in parts) == 25600
        order = session.get(Order, world["order_id"])
        refund_order(session=session, order=order, amount=10001, reason="一个坏了",
                     restock=False, by_user_id=world["operator_id"])
        assert ledger.order_gap(session, order.id) == 0
        refunds = {(k, m): amount for k, m, _s, amount in _parts(session, order.id)
                   if k.endswith("refund")}
        assert sum(refunds.values()) == -10001
        assert -951 <= refunds[("studio_fee_refund", None)] <= -950
        # The rest back: every part returns to exactly zero.
        session.refresh(order)
        refund_order(session=session, order=order,
                     amount=order.paid_amount - order.refunded_amount, reason="全退",
                     restock=False, by_user_id=world["operator_id"])
        left = session.exec(select(LedgerEntry.kind, func.sum(LedgerEntry.amount))
                            .where(LedgerEntry.order_id == order.id)
                            .group_by(LedgerEntry.kind)).all()
        by_kind = dict(left)
        assert by_kind[EntryKind.STUDIO_COMMISSION] + by_kind[
            EntryKind.STUDIO_COMMISSION_REFUND] == 0
        assert sum(by_kind.values()) == 0 and ledger.order_gap(session, order.id) == 0


def _figure(text, name, attribute="data-total"):
    found = re.findall(rf'{attribute}="{name}">([^<]+)<', text)
    assert found, f"no {attribute}={name}"
    return found


def _fen(text: str) -> int:
    return round(float(text.replace("¥", "").replace(",", "")) * 100)


def test_each_party_sees_its_part_and_the_parts_add_up(client, world):
    product = client.get(f"/products/{world['slug']}").get_data(as_text=True)
    assert "销售" in product and "制作" in product and "灿益测试文创馆" in product
    assert 'data-sold-by="' in product
    login(client, world["emails"]["studio_coordinator"])
    studio = client.get(f"/income/workshops/{world['studio_id']}").get_data(as_text=True)
    assert 'data-studio-earned="2432"' in studio and "¥24.32" in studio
    paid, platform, part, makers = (_fen(_figure(studio, n)[0])
                                    for n in ("paid", "platform", "studio", "makers"))
    assert (paid, platform, part, makers) == (25600, 1280, 2432, 21888)
    assert paid == platform + part + makers
    client.post("/account/logout")
    login(client, world["emails"]["maker_coordinator"])
    workshop = client.get(f"/income/workshops/{world['workshop_id']}").get_data(as_text=True)
    assert 'data-makers-part="21888"' in workshop
    assert "¥131.33" in workshop and "¥87.55" in workshop  # each member's income
    client.post("/account/logout")
    login(client, world["maker_emails"][0])
    mine = client.get("/income").get_data(as_text=True)
    assert 'data-figure="studio_fee">-¥14.59<' in mine  # 60% of ¥24.32, largest remainder
    assert 'data-figure="share">¥131.33<' in mine
    client.post("/account/logout")
    login(client, world["emails"]["operator"])
    impact = client.get("/operator/impact").get_data(as_text=True)
    assert _fen(_figure(impact, "studio")[0]) == 2432
    assert _fen(_figure(impact, "paid")[0]) == 25600
    csv_text = client.get("/operator/impact.csv").get_data(as_text=True)
    assert "24.32" in csv_text and "218.88" in csv_text


def _rate(session, studio_id):
    return session.get(StudioCommission, studio_id).rate_basis_points


def test_bad_commission_and_hand_over_input_changes_nothing(app, client, db_session, world):
    login(client, world["emails"]["operator"])
    for typed, message in (("150", "0 到 100"), ("-5", "0 到 100"), ("十", "0 到 100"),
                           ("", "请输入")):
        page = client.post("/operator/studios/rate",
                           data={"rate-studio_id": str(world["studio_id"]), "rate-rate": typed})
        text = page.get_data(as_text=True)
        assert page.status_code == 400 and "错误：" in text and message in text, typed
    ok = client.post("/operator/studios/rate",
                     data={"rate-studio_id": str(world["studio_id"]), "rate-rate": "12.5"})
    assert ok.status_code == 302
    with db_session() as session:
        assert _rate(session, world["studio_id"]) == 1250
        assert session.exec(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "studio_commission.set")).one() == 1
    # A workshop that is not a studio is not on the list.
    page = client.post("/operator/studios/rate",
                       data={"rate-studio_id": str(world["workshop_id"]), "rate-rate": "5"})
    assert page.status_code == 400
    app.config["WTF_CSRF_ENABLED"] = True
    forged = client.post("/operator/studios/rate", data={
        "rate-studio_id": str(world["studio_id"]), "rate-rate": "50",
        "rate-csrf_token": "forged"})
    assert forged.status_code == 400
    app.config["WTF_CSRF_ENABLED"] = False
    client.post("/account/logout")
    # The studio's own coordinator cannot set its rate.
    login(client, world["emails"]["studio_coordinator"])
    assert client.post("/operator/studios/rate", data={
        "rate-studio_id": str(world["studio_id"]), "rate-rate": "90"}).status_code == 403
    client.post("/account/logout")
    # Another studio cannot take the tote: not among its own products, not its workshop.
    login(client, world["emails"]["other_coordinator"])
    page = client.post(f"/income/workshops/{world['other_id']}/studio-sales", data={
        "hand-product_id": str(world["product_id"]), "hand-studio_id": str(world["other_id"])})
    assert page.status_code == 400 and "请从你们工坊的商品中选择" in page.get_data(as_text=True)
    assert client.post(f"/income/workshops/{world['workshop_id']}/studio-sales", data={
        "hand-product_id": str(world["product_id"]),
        "hand-studio_id": str(world["other_id"])}).status_code == 404
    with db_session() as session:
        assert _rate(session, world["studio_id"]) == 1250
        assert session.get(Product, world["product_id"]).selling_studio_id == world["studio_id"]
        # Nor can the selling studio's coordinator move it (only its makers' workshop).
        with pytest.raises(NotAllowed):
            studios.set_selling_studio(session=session, product_id=world["product_id"],
                                       studio_id=None,
                                       by_user_id=world["studio_coordinator_id"])
    client.post("/account/logout")
    # The making workshop's coordinator takes it back through their page.
    login(client, world["emails"]["maker_coordinator"])
    assert client.get(f"/income/workshops/{world['workshop_id']}/studio-sales"
                      ).status_code == 200
    assert client.post(f"/income/workshops/{world['workshop_id']}/studio-sales", data={
        "hand-product_id": str(world["product_id"]), "hand-studio_id": ""}).status_code == 302
    with db_session() as session:
        assert session.get(Product, world["product_id"]).selling_studio_id is None


def test_in_the_demo_the_studio_sells_the_fabric_tote_and_both_see_their_part(
        app, runner, client, db_session):
    """Done when: the studio sells a fabric tote made by another workshop; both see
    their part."""
    from accounts.models import Workshop
    from core.demo import DEMO_PASSWORD

    assert runner.invoke(args=["demo"]).exit_code == 0
    with db_session() as session:
        studio, fabric = (session.exec(select(Workshop).where(Workshop.slug == slug)).one()
                          for slug in ("canyi-studio", "li-fabric"))
        tote = session.exec(select(Product).where(Product.slug == "fabric-tote")).one()
        assert tote.selling_studio_id == studio.id and tote.workshop_id == fabric.id
        # ¥128: platform 5% = ¥6.40, the studio 10% of ¥121.60 = ¥12.16, maker ¥109.44.
        parts = dict(session.exec(select(LedgerEntry.kind, func.sum(LedgerEntry.amount))
                                  .where(LedgerEntry.studio_id == studio.id)
                                  .group_by(LedgerEntry.kind)).all())
        assert parts == {EntryKind.SALE: 10944, EntryKind.COMMISSION: 640,
                         EntryKind.STUDIO_COMMISSION: 1216}
    page = client.get("/products/fabric-tote").get_data(as_text=True)
    assert "由<a" in page and "制作，<a" in page and "</a>销售" in page
    login(client, "studio1@demo.gongfang.cn", DEMO_PASSWORD)
    mine = client.get(f"/income/workshops/{studio.id}").get_data(as_text=True)
    assert 'data-studio-earned="1216"' in mine
    client.post("/account/logout")
    login(client, "fabric1@demo.gongfang.cn", DEMO_PASSWORD)
    theirs = client.get(f"/income/workshops/{fabric.id}").get_data(as_text=True)
    assert 'data-makers-part="10944"' in theirs
    assert "¥109.44" in client.get("/income").get_data(as_text=True)
