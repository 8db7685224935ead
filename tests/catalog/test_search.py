"""Chinese search: the same answers on SQLite (FTS5) and PostgreSQL (GIN tsvector)."""

from __future__ import annotations

import pytest

from accounts import services as account_services
from accounts.models import Role
from catalog.models import Product, ProductStatus
from catalog.search import document_tokens, query_tokens, search_products
from catalog.services import refresh_listing
from tests.factories import make_product, make_user, make_workshop

TITLES = {
    "plum": "梅花盘扣 十对装",
    "brooch": "蝴蝶盘扣胸针",
    "cookies": "小黄车手工曲奇",
    "tote": "手缝蓝印花布包",
    "fan": "印象宁波团扇",
    "draft": "盘扣草稿",
}


def test_query_tokens_are_bigrams_and_words():
    assert query_tokens("盘扣") == ["盘扣"]
    assert query_tokens("手工曲奇") == ["手工", "工曲", "曲奇"]
    assert query_tokens("扣") == ["扣"]
    assert query_tokens("Knot BUTTONS!") == ["knot", "buttons"]
    assert query_tokens("'; DROP TABLE product; --") == ["drop", "table", "product"]
    assert query_tokens("\"*) OR (") == ["or"]
    assert len(query_tokens("字" * 5000)) <= 24


def test_document_tokens_include_pinyin_and_initials():
    tokens = document_tokens(["梅花盘扣"])
    assert {"盘扣", "花盘", "梅", "pankou", "pk", "meihuapankou", "mhpk"} <= set(tokens)


@pytest.fixture
def catalog(db_session):
    with db_session() as session:
        maker = make_user(session, roles=(Role.MAKER,), name="王秀英")
        account_services.save_maker_profile(session=session, user=maker, public_name="王秀英",
                                            show_name_publicly=True)
        shy = make_user(session, roles=(Role.MAKER,))
        account_services.save_maker_profile(session=session, user=shy, public_name="李隐名",
                                            show_name_publicly=False)
        workshop = make_workshop(session, name="和心盘扣工坊", makers=[maker, shy])
        other = make_workshop(session, name="阳光布艺")
        ids = {}
        for key, title in TITLES.items():
            status = ProductStatus.DRAFT if key == "draft" else ProductStatus.PUBLISHED
            product = make_product(
                session, workshop=workshop if key in ("plum", "brooch", "draft") else other,
                title=title, makers=[maker, shy] if key == "plum" else [shy], status=status,
                price={"plum": 6800, "brooch": 3900, "cookies": 2000}.get(key, 5000),
                stock=0 if key == "fan" else 10)
            refresh_listing(session=session, product=product)
            ids[key] = product.id
        ids["workshop"] = workshop.id
        ids["maker"] = maker.id
    return ids


def _found(db_session, **kwargs):
    with db_session(write=False) as session:
        page = search_products(session=session, **kwargs)
        return [card.product.id for card in page.cards], page.total


@pytest.mark.parametrize(("query", "expected"), [
    ("盘扣", ["plum", "brooch"]),           # two-character word, drafts never shown
    ("手工", ["cookies"]),                  # word inside a longer title
    ("曲奇", ["cookies"]),
    ("蝴蝶盘扣", ["brooch"]),
    ("扣", ["plum", "brooch"]),             # one character
    ("王秀英", ["plum"]),                   # a maker who agreed to be named
    ("李隐名", []),                         # a maker who did not
    ("和心", ["plum", "brooch"]),           # the workshop's name
    ("pankou", ["plum", "brooch"]),         # pinyin
    ("pk", ["plum", "brooch"]),             # pinyin initials
    ("盘扣 pankou", ["plum", "brooch"]),
    ("布包", ["tote"]),
    ("扣盘", []),                           # order matters inside a word
    ("<script>alert(1)</script>", []),
    ("\"*)", []),
])
def test_search_finds_the_right_products(catalog, db_session, query, expected):
    ids, total = _found(db_session, query=query)
    assert sorted(ids) == sorted(catalog[k] for k in expected)
    assert total == len(expected)


def test_filters_sorts_and_pages(catalog, db_session):
    ids, _ = _found(db_session, sort="price_low")
    prices = [6800, 3900, 2000]
    assert ids[:1] == [catalog["cookies"]]
    ids, _ = _found(db_session, sort="price_high")
    assert ids[0] == catalog["plum"]
    assert prices  # prices used above
    ids, _ = _found(db_session, workshop_id=catalog["workshop"])
    assert sorted(ids) == sorted([catalog["plum"], catalog["brooch"]])
    ids, _ = _found(db_session, maker_id=catalog["maker"])
    assert ids == [catalog["plum"]]
    ids, _ = _found(db_session, min_price=3000, max_price=4000)
    assert ids == [catalog["brooch"]]
    ids, _ = _found(db_session, in_stock=True)
    assert catalog["fan"] not in ids and len(ids) == 4
    ids, total = _found(db_session, per_page=2, page=3)
    assert total == 5 and len(ids) == 1
    ids, total = _found(db_session, page=10**9)
    assert ids == [] and total == 5


def test_index_follows_edits(catalog, db_session):
    with db_session() as session:
        product = session.get(Product, catalog["tote"])
        product.title = "宁波盘扣挎包"
        refresh_listing(session=session, product=product)
    assert catalog["tote"] in _found(db_session, query="盘扣")[0]
    assert catalog["tote"] not in _found(db_session, query="布包")[0]


def test_same_results_on_both_databases(catalog, db_session, request):
    """Each backend's answers are compared with one recorded list: the same on both."""
    queries = ["盘扣", "手工", "扣", "pk", "宁波", "花", "pankou", "团扇", "手"]
    answers = {q: sorted(_found(db_session, query=q)[0]) for q in queries}
    names = {catalog[k]: k for k in TITLES}
    readable = {q: sorted(names[i] for i in ids) for q, ids in answers.items()}
    assert readable == {
        "盘扣": ["brooch", "plum"], "手工": ["cookies"], "扣": ["brooch", "plum"],
        "pk": ["brooch", "plum"], "宁波": ["fan"], "花": ["plum", "tote"],
        "pankou": ["brooch", "plum"], "团扇": ["fan"], "手": ["cookies", "tote"],
    }


def test_count_stops_at_the_cap(catalog, db_session, monkeypatch):
    from catalog import search

    monkeypatch.setattr(search, "MAX_COUNT", 2)
    with db_session(write=False) as session:
        page = search_products(session=session, per_page=2)
    assert page.total == 3 and page.more and len(page.cards) == 2
