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
- PostgreSQL: a GIN index on `array_to_tsvector(string_to_array(document, ' '))`,
  asked with a tsquery `'tok1' & 'tok2'` built without PostgreSQL's own parser.

Every Chinese bigram also adds its pinyin (`pankou`) and initials (`pk`), and every
run of Chinese characters its whole pinyin, so pinyin search works too.
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
                tokens.append(word)
                continue
            tokens.extend(cjk)
            for i in range(len(cjk) - 1):
                bigram = cjk[i:i + 2]
                tokens.append(bigram)
                tokens.extend(_pinyin(bigram))
            if len(cjk) > 2:
                tokens.extend(_pinyin(cjk[:12]))
    return _unique(tokens)


def query_tokens(query: str | None) -> list[str]:
    """The tokens a product must all have to match `query` (empty: no text filter)."""
    tokens: list[str] = []
    for cjk, word in _RUNS.findall(_normalise(query or "")[:MAX_QUERY_CHARACTERS]):
        if word:
            tokens.append(word)
        elif len(cjk) == 1:
            tokens.append(cjk)
        else:
            tokens.extend(cjk[i:i + 2] for i in range(len(cjk) - 1))
    return _unique(tokens)[:MAX_QUERY_TOKENS]


def match_clause(session: Session, tokens: list[str]):
    """A WHERE clause on Product.id: products whose document has every token."""
    import sqlalchemy as sa

    # Tokens hold only letters and digits (see _RUNS), so quoting them is safe.
    if session.get_bind().dialect.name == "sqlite":
        expression = " AND ".join(f'"{t}"' for t in tokens)
        matching = sa.select(sa.literal_column("rowid")).select_from(
            sa.text("product_fts")).where(sa.text("product_fts MATCH :fts_query")
                                          .bindparams(fts_query=expression))
        return Product.id.in_(matching)
    expression = " & ".join(f"'{t}'" for t in tokens)
    # `tokens` is a generated column (see the migration), not in the model: the
    # database fills it from `document`.
    vector = sa.literal_column("product_search_document.tokens")
    matching = sa.select(ProductSearchDocument.product_id).where(
        vector.op("@@")(sa.cast(sa.literal(expression), sa.dialects.postgresql.TSQUERY)))
    return Product.id.in_(matching)


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


SORTS = ("newest", "price_low", "price_high", "best_selling")
PER_PAGE = 24
MAX_PAGE = 1000
MAX_COUNT = 1000


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
    if tokens:
        conditions.append(match_clause(session, tokens))
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
    order = {
        "newest": (Product.published_at.desc(), Product.id.desc()),
        "price_low": (Product.min_price_amount.asc(), Product.id.asc()),
        "price_high": (Product.min_price_amount.desc(), Product.id.desc()),
        "best_selling": (Product.units_sold.desc(), Product.id.desc()),
    }[sort]
    # Counting stops at MAX_COUNT: a common word may match most of the shop, and
    # "1,000+" tells the shopper as much as the exact number would.
    capped = select(Product.id).where(*conditions).limit(MAX_COUNT + 1).subquery()
    total = session.exec(select(sa.func.count()).select_from(capped)).one()
    products = list(session.exec(select(Product).where(*conditions).order_by(*order)
                                 .offset((page - 1) * per_page).limit(per_page)))
    return SearchPage(product_cards(session=session, products=products), total, page, per_page)
