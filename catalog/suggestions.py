"""What a search that found nothing suggests: dropping the filters, or a near spelling.

Only a page with no results pays for this (a count or two, and on a misspelt English
word one read of the shop's English words); pages that found something never do.
"""

from __future__ import annotations

import difflib
import re

import sqlalchemy as sa
from sqlmodel import Session

from catalog.models import Product, ProductSearchDocument, ProductStatus
from catalog.search import search_products

NARROWING = ("category_id", "workshop_id", "maker_id", "min_price", "max_price", "in_stock")
_ENGLISH_WORD = re.compile(r"[a-z]{3,}")
MAX_VOCABULARY_DOCUMENTS = 5000


def _count(session: Session, **filters) -> int:
    return search_products(session=session, per_page=1, **filters).total


def _english_vocabulary(session: Session) -> set[str]:
    """The English words (and pinyin) of products on sale, from their search documents."""
    documents = session.exec(
        sa.select(ProductSearchDocument.document)
        .join(Product, Product.id == ProductSearchDocument.product_id)
        .where(Product.status == ProductStatus.PUBLISHED)
        .limit(MAX_VOCABULARY_DOCUMENTS)).scalars()
    return {token for document in documents for token in document.split()
            if _ENGLISH_WORD.fullmatch(token)}


def near_spelling(session: Session, query: str) -> str | None:
    """`query` with each unknown English word replaced by the closest one the shop has,
    if that finds something; None otherwise."""
    words = query.split()
    if not any(_ENGLISH_WORD.fullmatch(w.lower()) for w in words):
        return None
    vocabulary = _english_vocabulary(session)
    changed = []
    for word in words:
        lower = word.lower()
        if _ENGLISH_WORD.fullmatch(lower) and lower not in vocabulary:
            close = difflib.get_close_matches(lower, vocabulary, n=1, cutoff=0.75)
            changed.append(close[0] if close else word)
        else:
            changed.append(word)
    suggestion = " ".join(changed)
    if suggestion.lower() == query.lower() or not _count(session, query=suggestion):
        return None
    return suggestion


def for_no_results(session: Session, filters: dict) -> dict:
    """Suggestions for a search with no results: {"without_filters": n} when the words
    alone find n products, {"spelling": "..."} when a near spelling finds some."""
    query = (filters.get("query") or "").strip()
    if not query:
        return {}
    found = {}
    if any(filters.get(name) for name in NARROWING):
        alone = _count(session, query=query)
        if alone:
            found["without_filters"] = alone
    if "without_filters" not in found:
        spelling = near_spelling(session, query)
        if spelling:
            found["spelling"] = spelling
    return found
