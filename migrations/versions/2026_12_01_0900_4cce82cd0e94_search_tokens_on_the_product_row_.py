"""search: tokens on the product row (PostgreSQL), sort indexes end in id

Revision ID: 4cce82cd0e94
Revises: 4e80cf97881b
Create Date: 2026-12-01 09:00:00

Why (docs/PERFORMANCE.md, "Catalog"): a common word's first page is found by walking
the sort's index and checking each product's tokens. On PostgreSQL the tokens lived in
product_search_document, so every product checked cost a second index lookup and heap
page; on the product row the check is free. A trigger copies them from the document,
so whatever writes the document (catalog.search.reindex_product, a bulk load) keeps
them right. SQLite keeps its FTS5 table, which already hands back product ids.

The GIN index has fastupdate off, so no search pays for GIN's list of pending
entries. The sort indexes end in id, the tie-breaker of every sort: PostgreSQL then
reads a page straight off the index instead of sorting every product with the same
price, date or (most often) the same number sold.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '4cce82cd0e94'
down_revision: str | Sequence[str] | None = '4e80cf97881b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SORT_INDEXES = {
    "ix_product_status_published": "published_at",
    "ix_product_status_price": "min_price_amount",
    "ix_product_status_sold": "units_sold",
}


def _sort_indexes(with_id: bool) -> None:
    for name, column in SORT_INDEXES.items():
        op.drop_index(name, table_name="product")
        op.create_index(name, "product", ["status", column, *(["id"] if with_id else [])])


def upgrade() -> None:
    _sort_indexes(with_id=True)
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE product ADD COLUMN search_tokens tsvector")
    op.execute("""
        CREATE FUNCTION product_search_tokens_from_document() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                UPDATE product SET search_tokens = NULL WHERE id = OLD.product_id;
            ELSE
                UPDATE product
                SET search_tokens = array_to_tsvector(string_to_array(NEW.document, ' '))
                WHERE id = NEW.product_id;
            END IF;
            RETURN NULL;
        END
        $$""")
    op.execute(
        "CREATE TRIGGER product_search_document_tokens "
        "AFTER INSERT OR DELETE OR UPDATE OF document ON product_search_document "
        "FOR EACH ROW EXECUTE FUNCTION product_search_tokens_from_document()")
    op.execute(
        "UPDATE product SET search_tokens = array_to_tsvector(string_to_array(d.document, ' ')) "
        "FROM product_search_document d WHERE d.product_id = product.id")
    # fastupdate off: every search would otherwise also read GIN's list of pending
    # entries (up to 4 MB until a vacuum); products change seldom, searches are many.
    op.execute("CREATE INDEX ix_product_search_tokens ON product USING gin (search_tokens) "
               "WITH (fastupdate = off)")
    op.execute("DROP INDEX ix_product_search_document_tokens")
    op.execute("ALTER TABLE product_search_document DROP COLUMN tokens")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE product_search_document ADD COLUMN tokens tsvector "
            "GENERATED ALWAYS AS (array_to_tsvector(string_to_array(document, ' '))) STORED")
        op.execute(
            "CREATE INDEX ix_product_search_document_tokens ON product_search_document "
            "USING gin (tokens)")
        op.execute("DROP TRIGGER product_search_document_tokens ON product_search_document")
        op.execute("DROP FUNCTION product_search_tokens_from_document()")
        op.execute("DROP INDEX ix_product_search_tokens")
        op.execute("ALTER TABLE product DROP COLUMN search_tokens")
    _sort_indexes(with_id=False)
