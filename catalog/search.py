"""Chinese product search that gives the same answers on SQLite and PostgreSQL.

Why character bigrams and not a word segmenter (jieba): a shopper types part of a
title, and a segmenter cuts "手工曲奇" or a maker's name in ways the shopper cannot
guess, so words inside longer titles go missing. Overlapping two-character tokens find
every two-character word anywhere in a text (and single characters are indexed as
well), need no dictionary, and tokenise the same in any process.

The tokens are made here, in Python, once per product and once per query; the
databases only store and match them, so both give the same result for the same data:

- SQLite: an FTS5 table mirrors `product_search_document` (triggers in the
  migration) and is asked `"tok1" AND "tok2"`.
- PostgreSQL: a trigger copies the document onto the product row as
  `array_to_tsvector(string_to_array(document, ' '))` (GIN-indexed), asked with a
  tsquery `'tok1' & 'tok2'` built without PostgreSQL's own parser.

How a page is found (search_products): first a count that stops at MAX_COUNT + 1,
led by the search index. Up to MAX_COUNT matches, it also hands back their ids and the
page reads just those; a common word's first pages instead walk the sort's index and
check each product, which ends after about per_page / (share matching) of them.
docs/PERFORMANCE.md ("Catalog") has the plans and the figures.

Every Chinese bigram also adds its pinyin (`pankou`) and initials (`pk`), and every
run of Chinese characters its whole pinyin, so pinyin search works too. English words
are found by their singular and a few synonyms (catalog.english_words).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, lazy_pinyin
from sqlmodel import Session, select

from accounts.models import MakerProfile, Workshop
from catalog.english_words import document_forms, plural_stem
from catalog.models import Category, Product, ProductMaker, ProductSearchDocument

MAX_QUERY_CHARACTERS = 100
MAX_QUERY_TOKENS = 24
MAX_DOCUMENT_CHARACTERS = 4000
# CJK unified ideographs (with extension A) and compatibility ideographs.
_RUNS = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)|([a-z0-9]+)")


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


@lru_cache(maxsize=65536)
def _pinyin(text: str) -> tuple[str, str]:
    full = "".join(lazy_pinyin(text, errors="ignore"))
    initials = "".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore"))
    return full, initials


def _unique(tokens: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(t for t in tokens if t))


def document_tokens(texts: Iterable[str | None]) -> list[str]:
    """The tokens a product is found by: unigrams, bigrams and pinyin of its texts."""
    tokens: list[str] = []
    for text in texts:
        for cjk, word in _RUNS.findall(_normalise(text)[:MAX_DOCUMENT_CHARACTERS]):
            if word:
                tokens.extend(document_forms(word))
                continue
            tokens.extend(cjk)
            for i in range(len(cjk) - 1):
                bigram = cjk[i:i + 2]
                tokens.append(bigram)
                tokens.extend(_pinyin(bigram))
            if len(cjk) > 2:
                tokens.extend(_pinyin(cjk[:12]))
    # Pinyin is typed like an English word, so a query cuts it the same way (pks -> pk).
    return _unique([*tokens, *(plural_stem(t) for t in tokens if t.isascii())])


def query_tokens(query: str | None) -> list[str]:
    """The tokens a product must all have to match `query` (empty: no text filter)."""
    tokens: list[str] = []
    for cjk, word in _RUNS.findall(_normalise(query or "")[:MAX_QUERY_CHARACTERS]):
        if word:
            tokens.append(plural_stem(word))
        elif len(cjk) == 1:
            tokens.append(cjk)
        else:
            tokens.extend(cjk[i:i + 2] for i in range(len(cjk) - 1))
    return _unique(tokens)[:MAX_QUERY_TOKENS]


def _fts_match(tokens: list[str]):
    """SQLite: the FTS5 condition that a document has every token."""
    import sqlalchemy as sa

    # Tokens hold only letters and digits (see _RUNS), so quoting them is safe.
    expression = " AND ".join(f'"{t}"' for t in tokens)
    return sa.text("product_fts MATCH :fts_query").bindparams(fts_query=expression)


def match_clause(session: Session, tokens: list[str], *, walk_index: bool = False):
    """A WHERE clause on Product: products whose document has every token.

    `walk_index`: the page will be read by walking the sort's index and checking each
    product (a common word; see search_products), not by sorting every match.
    """
    import sqlalchemy as sa

    if session.get_bind().dialect.name == "sqlite":
        matching = sa.select(sa.literal_column("rowid")).select_from(
            sa.text("product_fts")).where(_fts_match(tokens))
        if walk_index:
            # The unary + keeps SQLite from looking products up by the matching ids
            # (it would then sort them all): it walks the sort's index instead and
            # checks each product against the list of matches, built once.
            return sa.literal_column("+product.id").in_(matching)
        return Product.id.in_(matching)
    # The tokens are on the product row (see the migration; not in the model, the
    # database fills them from the document), so checking a product costs nothing
    # more than reading it. The planner weighs the GIN index against the sort's index.
    expression = " & ".join(f"'{t}'" for t in tokens)
    return sa.literal_column("product.search_tokens").op("@@")(
        sa.cast(sa.literal(expression), sa.dialects.postgresql.TSQUERY))


def _first_matches(session: Session, tokens: list[str], conditions: list, cap: int,
                   sort: str) -> tuple[int, object]:
    """How many products have every token and meet `conditions`, counting no further
    than `cap` (the search index leads, so a common word stops there), and, for a
    search with words whose count stays under the cap, their ids: on SQLite as a JSON
    array in no order, on PostgreSQL as a list in the order of `sort`.

    Why the ids: then the page reads just those products. Without them a word with
    thousands of matches of which a filter keeps a few hundred had each of its
    matches looked up twice, and PostgreSQL built its bitmaps a second time.
    """
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql import aggregate_order_by

    sqlite = session.get_bind().dialect.name == "sqlite"
    key = getattr(Product, SORT_KEYS[sort][0])  # read with the id, for PostgreSQL's order
    if tokens and sqlite:
        # A join, not `id IN (...)`: the FTS5 matches then stream and stop at the cap.
        fts = sa.table("product_fts", sa.column("rowid"))
        matching = select(Product.id, key).select_from(
            fts.join(Product, Product.id == fts.c.rowid)).where(_fts_match(tokens), *conditions)
    else:
        words = [match_clause(session, tokens)] if tokens else []
        matching = select(Product.id, key).where(*conditions, *words)
    matching = matching.limit(cap).subquery()
    if not tokens:
        return session.exec(select(sa.func.count()).select_from(matching)).one(), None
    # One value, not a thousand rows (on SQLite not even a thousand Python objects).
    # Left out when the count reaches the cap.
    if sqlite:
        ids = sa.func.json_group_array(matching.c.id)
    else:
        ids = sa.func.array_agg(aggregate_order_by(matching.c.id, *_order(sort, matching.c)))
    ids = sa.case((sa.func.count() < cap, ids))
    return tuple(session.exec(select(sa.func.count(), ids).select_from(matching)).one())


def _among(session: Session, ids):
    """A WHERE clause on Product: its id is one of `ids` (from _first_matches)."""
    import sqlalchemy as sa

    if session.get_bind().dialect.name == "sqlite":
        return Product.id.in_(sa.select(sa.literal_column("value")).select_from(
            sa.func.json_each(ids)))
    return Product.id == sa.any_(sa.bindparam(
        "ids", ids, type_=sa.dialects.postgresql.ARRAY(sa.Integer)))


def product_texts(*, session: Session, product: Product) -> list[str | None]:
    """Everything a shopper may type to find `product`: titles, description, the
    workshop, the category and the names of makers who agreed to be named."""
    workshop = session.get(Workshop, product.workshop_id)
    category = session.get(Category, product.category_id) if product.category_id else None
    maker_names = session.exec(
        select(MakerProfile.public_name)
        .join(ProductMaker, ProductMaker.maker_id == MakerProfile.user_id)
        .where(ProductMaker.product_id == product.id, MakerProfile.show_name_publicly)).all()
    return [product.title, product.title_en, product.description, product.description_en,
            workshop.name if workshop else None, workshop.name_en if workshop else None,
            category.name if category else None, category.name_en if category else None,
            *maker_names]


def reindex_product(*, session: Session, product: Product) -> None:
    """Write `product`'s search document (call after every create or edit)."""
    document = " ".join(document_tokens(product_texts(session=session, product=product)))
    row = session.get(ProductSearchDocument, product.id)
    if row is None:
        session.add(ProductSearchDocument(product_id=product.id, document=document))
    elif row.document != document:
        row.document = document
        session.add(row)
    session.flush()


def reindex_all(*, session: Session) -> int:
    """Rebuild every product's document; returns how many."""
    count = 0
    for product in session.exec(select(Product)).all():
        reindex_product(session=session, product=product)
        count += 1
    return count


# Each sort: its column and direction; ties are broken by id in the same direction.
SORT_KEYS = {"newest": ("published_at", "desc"), "price_low": ("min_price_amount", "asc"),
             "price_high": ("min_price_amount", "desc"), "best_selling": ("units_sold", "desc")}
SORTS = tuple(SORT_KEYS)
PER_PAGE = 24
MAX_PAGE = 1000
MAX_COUNT = 1000
# How far into a common word's results its pages are found by walking the sort's index
# (see search_products); deeper pages sort every match instead.
LIMIT_FIRST_ROWS = 10 * PER_PAGE


def _order(sort: str, columns=Product) -> tuple:
    """ORDER BY for `sort` on Product (or a subquery's columns); id, the tie-breaker,
    is the last column of each sort's index (see the Product model)."""
    name, direction = SORT_KEYS[sort]
    return (getattr(getattr(columns, name), direction)(), getattr(columns.id, direction)())


@dataclass(frozen=True)
class SearchPage:
    """One page of results: cards to show, how many matched in all, where we are."""

    cards: list
    total: int
    page: int
    per_page: int

    @property
    def more(self) -> bool:
        """True when more than MAX_COUNT matched (total then says MAX_COUNT + 1)."""
        return self.total > MAX_COUNT

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search_products(*, session: Session, query: str | None = None,
                    category_id: int | None = None, workshop_id: int | None = None,
                    maker_id: int | None = None, min_price: int | None = None,
                    max_price: int | None = None, in_stock: bool = False,
                    sort: str = "newest", page: int = 1, per_page: int = PER_PAGE) -> SearchPage:
    """Published products matching the words and filters, sorted, one page of them.

    Prices are in fen. Ties are broken by id, so both databases give the same order.
    """
    import sqlalchemy as sa

    from catalog.models import ProductStatus, ProductVariant
    from catalog.queries import product_cards

    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    page = min(max(1, page), MAX_PAGE)
    conditions = [Product.status == ProductStatus.PUBLISHED]
    tokens = query_tokens(query)
    if query and query.strip() and not tokens:
        return SearchPage([], 0, page, per_page)  # only punctuation: nothing can match
    if category_id is not None:
        conditions.append(Product.category_id == category_id)
    if workshop_id is not None:
        conditions.append(Product.workshop_id == workshop_id)
    if maker_id is not None:
        conditions.append(sa.exists().where(ProductMaker.product_id == Product.id,
                                            ProductMaker.maker_id == maker_id))
    if min_price is not None:
        conditions.append(Product.min_price_amount >= min_price)
    if max_price is not None:
        conditions.append(Product.min_price_amount <= max_price)
    if in_stock:
        conditions.append(sa.exists().where(ProductVariant.product_id == Product.id,
                                            ProductVariant.is_active,
                                            ProductVariant.stock > 0))
    offset = (page - 1) * per_page
    # Counting stops at MAX_COUNT: a common word may match most of the shop, and
    # "1,000+" tells the shopper as much as the exact number would. The count also
    # chooses how the page is found.
    total, ids = _first_matches(session, tokens, conditions, MAX_COUNT + 1, sort)
    if total <= MAX_COUNT and offset >= total:
        return SearchPage([], total, page, per_page)
    if not tokens:
        statement = select(Product).where(*conditions)  # the sort's index is read in order
    elif total > MAX_COUNT and offset + per_page <= LIMIT_FIRST_ROWS:
        # A common word: walk the sort's index and check each product against the
        # words; about (offset + per_page) / (share of products matching) are read.
        statement = select(Product).where(
            *conditions, match_clause(session, tokens, walk_index=True))
    elif total > MAX_COUNT:
        # Deep in a common word's pages: find every match, then sort.
        statement = select(Product).where(*conditions, match_clause(session, tokens))
    else:
        # Every match is known: read just them (PostgreSQL has put them in order).
        if session.get_bind().dialect.name == "postgresql":
            ids, offset = ids[offset:offset + per_page], 0
        statement = select(Product).where(_among(session, ids))
    products = list(session.exec(
        statement.order_by(*_order(sort)).offset(offset).limit(per_page)))
    return SearchPage(product_cards(session=session, products=products), total, page, per_page)
