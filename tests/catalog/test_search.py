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
    assert query_tokens("Knot BUTTONS!") == ["knot", "button"]  # English: the singular
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


@pytest.fixture
def shelf(db_session):
    """Thirty goods with many ties (price, date, units sold), so the order of a page
    depends on the id tie-breaker, and two makers, one of them on a third of them."""
    from datetime import UTC, datetime

    with db_session() as session:
        maker = make_user(session, roles=(Role.MAKER,))
        workshops = [make_workshop(session, makers=[maker]), make_workshop(session)]
        products = []
        for n in range(30):
            title = ("梅花盘扣" if n % 3 else "蓝印花布包") + f" 第{n}款"
            product = make_product(
                session, workshop=workshops[n % 2], title=title, makers=[maker] if n % 3 == 1
                else [], price=(2000, 3900, 3900, 6800)[n % 4], stock=0 if n % 5 == 0 else 5)
            product.units_sold = (0, 0, 7, 30)[n % 4]
            product.published_at = datetime(2026, 11, 1 + n % 6, 8, tzinfo=UTC)
            refresh_listing(session=session, product=product)
            products.append(product)
        return {"maker": maker.id, "workshop": workshops[0].id, "products": [
            {"id": p.id, "title": p.title, "price": p.min_price_amount, "sold": p.units_sold,
             "published": p.published_at, "workshop": p.workshop_id, "in_stock": n % 5 != 0,
             "by_maker": n % 3 == 1} for n, p in enumerate(products)]}


def _expected(shelf, *, word=None, sort="newest", page=1, per_page=24, in_stock=False,
              min_price=None, max_price=None, workshop=False, maker=False):
    """The page worked out in Python, from what each product was given."""
    rows = [p for p in shelf["products"] if (word is None or word in p["title"])
            and (not in_stock or p["in_stock"]) and (not workshop or p["workshop"] == shelf[
                "workshop"]) and (not maker or p["by_maker"])
            and (min_price is None or p["price"] >= min_price)
            and (max_price is None or p["price"] <= max_price)]
    key, reverse = {"newest": ("published", True), "price_low": ("price", False),
                    "price_high": ("price", True), "best_selling": ("sold", True)}[sort]
    rows.sort(key=lambda p: (p[key], p["id"]), reverse=reverse)
    return [p["id"] for p in rows][(page - 1) * per_page:page * per_page], len(rows)


SHELF_CASES = [
    dict(word="盘扣"), dict(word="盘扣", sort="price_low"), dict(word="盘扣", sort="price_high"),
    dict(word="盘扣", sort="best_selling"), dict(word="盘扣", page=2, per_page=7),
    dict(word="盘扣", page=3, per_page=9, sort="price_low"), dict(word="扣", in_stock=True),
    dict(word="盘扣", min_price=3000, max_price=7000, sort="best_selling"),
    dict(word="盘扣", workshop=True, sort="price_high"), dict(word="盘扣", maker=True),
    dict(word="布包", sort="price_low", per_page=4, page=2), dict(word="花", per_page=5, page=4),
    dict(sort="best_selling", per_page=8, page=2), dict(sort="price_low", in_stock=True),
    dict(word="盘扣", page=40, per_page=5),
]


@pytest.mark.parametrize("plan", ["sort the matches", "walk the sort's index",
                                  "sort them all, deep in the pages"])
def test_every_plan_gives_the_page_worked_out_by_hand(shelf, db_session, monkeypatch, plan):
    """The count chooses how a page is found (catalog.search.search_products); with a
    low MAX_COUNT the 20 goods with 盘扣 count as a common word, and each way of
    finding the page must give the same products in the same order, ties by id."""
    from catalog import search

    if plan != "sort the matches":
        monkeypatch.setattr(search, "MAX_COUNT", 3)
    if plan == "sort them all, deep in the pages":
        monkeypatch.setattr(search, "LIMIT_FIRST_ROWS", 0)
    for case in map(dict, SHELF_CASES):
        expected, matched = _expected(shelf, **case)
        word = case.pop("word", None)
        if case.pop("workshop", False):
            case["workshop_id"] = shelf["workshop"]
        if case.pop("maker", False):
            case["maker_id"] = shelf["maker"]
        ids, total = _found(db_session, query=word, **case)
        assert ids == expected, (plan, word, case)
        assert total == min(matched, search.MAX_COUNT + 1), (plan, word, case)


def test_postgresql_keeps_the_tokens_on_the_product_row(shelf, db_session):
    """On PostgreSQL the search reads product.search_tokens, which a trigger copies from
    the search document: a product's tokens follow every edit and nothing else's do."""
    from sqlalchemy import text

    first, second = shelf["products"][1]["id"], shelf["products"][2]["id"]
    with db_session() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("the tokens live on the product row on PostgreSQL only")
        product = session.get(Product, first)
        product.title = "竹编团扇"
        refresh_listing(session=session, product=product)
    with db_session(write=False) as session:
        tokens = dict(session.execute(text(
            "SELECT id, search_tokens::text FROM product WHERE id IN (:a, :b)"),
            {"a": first, "b": second}).all())
    assert "'团扇'" in tokens[first] and "'盘扣'" not in tokens[first]
    assert "'盘扣'" in tokens[second]


ENGLISH_TITLES = {
    "tote": "Hand-sewn blue-print cloth tote",
    "cookies": "Yellow-cart handmade cookies",
    "brooch": "Butterfly knot-button brooch",
    "berry": "Dried mulberry tea",
    "glass": "Painted glass",
}


@pytest.fixture
def english_shelf(db_session):
    from catalog.models import Category

    with db_session() as session:
        category = Category(slug="crafts", name="手工", name_en="Crafts")
        session.add(category)
        session.flush()
        workshop = make_workshop(session, name="和心工坊")
        ids = {"category": category.id}
        for key, title_en in ENGLISH_TITLES.items():
            product = make_product(session, workshop=workshop, title=f"中文{key}",
                                   category_id=category.id if key == "glass" else None)
            product.title_en = title_en
            session.add(product)
            refresh_listing(session=session, product=product)
            ids[key] = product.id
    return ids


@pytest.mark.parametrize(("query", "expected"), [
    ("tote", ["tote"]),
    ("totes", ["tote"]),                   # plural
    ("bag", ["tote"]),                     # a synonym
    ("Bags", ["tote"]),
    ("cookie", ["cookies"]),               # singular of a plural title
    ("cookies", ["cookies"]),
    ("biscuits", ["cookies"]),
    ("brooches", ["brooch"]),              # -es plural
    ("brooch", ["brooch"]),
    ("mulberries", ["berry"]),             # -ies plural of a -y word
    ("glass", ["glass"]),                  # a word ending in s is not cut
    ("glasses", ["glass"]),
    ("cloth bag", ["tote"]),
    ("handmade bag", []),                  # every word must match, as before
])
def test_english_search_finds_plurals_and_synonyms(english_shelf, db_session, query,
                                                   expected):
    ids, total = _found(db_session, query=query)
    assert sorted(ids) == sorted(english_shelf[k] for k in expected)
    assert total == len(expected)


def test_pinyin_initials_still_match_after_the_plural_rule(catalog, db_session):
    # "pks" is three letters and kept; longer initials ending in s are cut on both sides.
    tokens = document_tokens(["盘扣书"])
    assert {"pks", "pankoushu"} <= set(tokens)
    assert query_tokens("hxpks") == ["hxpk"] and "hxpk" in document_tokens(["和心盘扣书"])


def _catalogue(client, **args):
    return client.get("/products", query_string=args).get_data(as_text=True)


def test_a_search_with_no_results_offers_a_near_spelling(english_shelf, client):
    client.get("/language/en")
    page = _catalogue(client, q="cookeis")
    assert "Nothing matches" in page
    assert 'Did you mean <a href="/products?q=cookies">cookies</a>?' in page
    assert 'href="/products?category=crafts"' in page  # categories to look through
    # The suggestion is only made when it finds something.
    assert "Did you mean" not in _catalogue(client, q="zzzzqqq")


def test_a_filtered_search_with_no_results_offers_the_whole_shop(english_shelf, client):
    page = _catalogue(client, q="cookies", category="crafts")
    assert "全店有 1 件商品符合你的搜索词" in page
    assert 'href="/products?q=cookies"' in page


def test_hostile_queries_are_escaped_in_the_suggestion(english_shelf, client):
    page = _catalogue(client, q="<script>cookeis</script>")
    assert "<script>cookeis" not in page
