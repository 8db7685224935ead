"""A person's data: the download holds all of theirs and nobody else's; only a CSRF-checked
POST by the signed-in person gets it; operators' views of sensitive fields are logged."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from sqlmodel import select

from core.audit import AuditEntry
from tests.accounts.pages import csrf_token
from tests.accounts.personal_data_world import (
    MAKER_EMAIL,
    MAKER_PHONE,
    OTHER_EMAIL,
    OTHER_PHONE,
    SHOPPER_EMAIL,
    SHOPPER_PHONE,
    build,
)
from tests.factories import login


@pytest.fixture
def world(app, db_session):
    app.config["INCOME_HOLD_DAYS"] = 0  # so the maker can be paid out at once
    with db_session() as session:
        return build(session)


def _download(client, email) -> zipfile.ZipFile:
    login(client, email)
    response = client.post("/account/personal-data/download")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    return zipfile.ZipFile(io.BytesIO(response.data))


def _everything(archive: zipfile.ZipFile) -> str:
    return "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())


def test_the_shoppers_download_holds_all_of_their_data_and_none_of_anyone_elses(
        client, world):
    archive = _download(client, SHOPPER_EMAIL)
    assert {"personal-data.html", "personal-data.json", "orders.csv", "order-lines.csv",
            "addresses.csv", "messages.csv", "profile.csv", "roles.csv"} <= set(
        archive.namelist())
    document = json.loads(archive.read("personal-data.json"))
    sections = document["sections"]
    assert document["account_number"] == world["shopper"]
    profile = sections["profile"][0]
    assert (profile["email"], profile["mobile"], profile["name"]) == (
        SHOPPER_EMAIL, SHOPPER_PHONE, "李小红")
    assert profile["last_signed_in_at"]  # the sign-in the download came through
    assert [r["role"] for r in sections["roles"]] == ["shopper"]
    assert [o["order"] for o in sections["orders"]] == [world["order"]]
    order = sections["orders"][0]
    assert (order["total_yuan"], order["paid_yuan"], order["mobile"]) == (
        "240.00", "240.00", SHOPPER_PHONE)
    assert order["address"] == "浙江省 宁波市 海曙区 中山西路 88 号 3 室"
    assert sections["order_lines"] == [{
        "order": world["order"], "product": "梅花盘扣", "product_in_english": "",
        "variant": "", "variant_in_english": "", "sku": sections["order_lines"][0]["sku"],
        "quantity": 2, "unit_price_yuan": "120.00", "line_total_yuan": "240.00",
        "refunded_quantity": 0}]
    assert [a["address"] for a in sections["addresses"]] == [order["address"]]
    assert [(m["live_stream"], m["text"]) for m in sections["messages"]] == [
        ("盘扣直播", "梅花盘扣有红色的吗？")]
    assert sections["income"] == sections["payouts"] == sections["consents"] == []
    everything = _everything(archive)
    for other_data in (OTHER_EMAIL, OTHER_PHONE, "吴大伟", "天童南路", "可以寄到外地吗",
                       world["other_order"], MAKER_PHONE):
        assert other_data not in everything
    page = archive.read("personal-data.html").decode("utf-8")
    assert '<html lang="zh-CN">' in page and "<script" not in page
    assert "中山西路 88 号 3 室" in page
    header, *rows = csv.reader(io.StringIO(archive.read("orders.csv").decode("utf-8-sig")))
    # Column codes head every CSV (the JSON's keys); columns.csv gives their headings.
    assert header[:2] == ["order", "placed_at"]
    columns = dict(csv.reader(io.StringIO(archive.read("columns.csv").decode("utf-8-sig"))))
    assert (columns["code"], columns["order"], columns["placed_at"]) == (
        "heading", "订单", "下单时间")
    assert [row[0] for row in rows] == [world["order"]]
    # The page and the CSV files say what a code means; the JSON keeps the codes.
    assert rows[0][2:5] == ["已完成", "已付款", "送货上门"]
    assert order["status"] == "completed"
    assert "<td>顾客</td>" in page


def test_the_makers_download_has_their_income_payouts_profile_and_consent(client, world):
    sections = json.loads(_download(client, MAKER_EMAIL).read("personal-data.json"))[
        "sections"]
    kinds = [(e["kind"], e["amount_yuan"]) for e in sections["income"]]
    # 3 sold at ¥120 each, less the platform's 5 %: two sales and the payout.
    assert sorted(kinds) == sorted([("sale", "228.00"), ("sale", "114.00"),
                                    ("payout", "-342.00")])
    assert {e["order"] for e in sections["income"] if e["kind"] == "sale"} == {
        world["order"], world["other_order"]}
    assert [(p["amount_yuan"], p["reference"]) for p in sections["payouts"]] == [
        ("342.00", "BANK-REF-1")]
    assert sections["maker_profile"][0]["disability_category"] == "hearing"
    assert sections["maker_profile"][0]["story"] == "我在象山编盘扣。"
    assert [(c["category"], bool(c["given_at"]), c["withdrawn_at"])
            for c in sections["consents"]] == [("disability", True, "")]
    assert [w["coordinator"] for w in sections["workshops"]] == [False]
    # The maker's income names orders, never the buyers behind them.
    text = json.dumps(sections, ensure_ascii=False)
    for buyer in (SHOPPER_EMAIL, SHOPPER_PHONE, "李小红", "中山西路", OTHER_EMAIL):
        assert buyer not in text
    assert sections["orders"] == []


def test_the_download_needs_a_sign_in(client, world):
    response = client.post("/account/personal-data/download")
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


def test_the_download_cannot_be_fetched_with_a_get(client, world):
    login(client, SHOPPER_EMAIL)
    assert client.get("/account/personal-data/download").status_code == 405


def test_the_personal_data_page_offers_the_download_and_erasure(client, world):
    login(client, MAKER_EMAIL)
    page = client.get("/account/personal-data").get_data(as_text=True)
    assert 'action="/account/personal-data/download"' in page
    assert "/account/erase" in page
    assert "记录我的残疾类别" in page  # the consent in force, with its date


@pytest.fixture
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True


def test_a_download_without_the_csrf_token_is_refused(csrf_on, client, world):
    login_page = client.get("/account/login").get_data(as_text=True)
    client.post("/account/login", data={"csrf_token": csrf_token(login_page),
                                        "login": SHOPPER_EMAIL,
                                        "password": "correct horse battery"})
    assert client.get("/account/").status_code == 200
    refused = client.post("/account/personal-data/download")
    assert refused.status_code == 400
    assert refused.mimetype != "application/zip"
    token = csrf_token(client.get("/account/personal-data").get_data(as_text=True))
    allowed = client.post("/account/personal-data/download", data={"csrf_token": token})
    assert allowed.status_code == 200 and allowed.mimetype == "application/zip"


def _entries(db_session, action):
    with db_session(write=False) as session:
        return [(e.actor_id, e.subject_type, e.subject_id, e.details) for e in session.exec(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]


def test_an_operator_reading_a_persons_phone_leaves_an_audit_entry(client, world, db_session):
    login(client, "op.zhang@example.cn")
    assert client.get(f"/operator/users/{world['shopper']}").status_code == 200
    assert _entries(db_session, "sensitive.view") == [
        (world["operator"], "user", str(world["shopper"]),
         {"fields": ["email", "phone"], "page": "operator_accounts.user_detail"})]


def test_an_operator_reading_an_orders_address_leaves_an_audit_entry(client, world,
                                                                     db_session):
    login(client, "op.zhang@example.cn")
    page = client.get(f"/operator/orders/{world['order']}")
    assert page.status_code == 200
    assert "中山西路 88 号 3 室" in page.get_data(as_text=True)
    assert _entries(db_session, "sensitive.view") == [
        (world["operator"], "user", str(world["shopper"]),
         {"fields": ["email", "phone", "address"], "page": "shop.operator_order"})]


def test_someone_refused_an_operator_page_leaves_no_entry(client, world, db_session):
    login(client, SHOPPER_EMAIL)
    assert client.get(f"/operator/users/{world['other']}").status_code == 403
    assert client.get(f"/operator/orders/{world['other_order']}").status_code == 403
    assert _entries(db_session, "sensitive.view") == []
