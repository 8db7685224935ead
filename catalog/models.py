"""Products, their variants and stock, categories, and who made them."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime, enum_type, utcnow
from core.money import DEFAULT_CURRENCY, Money


class ProductStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    PUBLISHED = "published"
    ARCHIVED = "archived"

    @property
    def label(self):
        return PRODUCT_STATUS_LABELS[self]


PRODUCT_STATUS_LABELS = {
    ProductStatus.DRAFT: _l("Draft"),
    ProductStatus.PENDING_REVIEW: _l("Waiting for review"),
    ProductStatus.PUBLISHED: _l("On sale"),
    ProductStatus.ARCHIVED: _l("Archived"),
}


class Category(SQLModel, table=True):
    """A shelf of the shop: handicraft (knot buttons, fabric, weaving), farm produce,
    cultural-creative goods, audiobooks."""

    __tablename__ = "category"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True)
    name: str = Field(max_length=60)
    name_en: str = Field(max_length=60)
    parent_id: int | None = Field(default=None, foreign_key="category.id")
    is_digital: bool = False
    position: int = 0


class Product(SQLModel, table=True):
    """A good offered for sale; it belongs to a workshop (which may be one maker's)."""

    __tablename__ = "product"
    __table_args__ = (
        # One per sort, ending in id (every sort's tie-breaker), so a page of any sort
        # is read straight off its index (catalog.search.search_products).
        sa.Index("ix_product_status_published", "status", "published_at", "id"),
        sa.Index("ix_product_status_price", "status", "min_price_amount", "id"),
        sa.Index("ix_product_status_sold", "status", "units_sold", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=120, unique=True)
    workshop_id: int = Field(foreign_key="workshop.id", index=True)
    category_id: int | None = Field(default=None, foreign_key="category.id", index=True)
    title: str = Field(max_length=120)
    title_en: str | None = Field(default=None, max_length=120)
    description: str = Field(default="", sa_type=sa.Text)
    description_en: str | None = Field(default=None, sa_type=sa.Text)
    maker_story: str = Field(default="", sa_type=sa.Text)
    is_digital: bool = False
    status: ProductStatus = Field(default=ProductStatus.DRAFT, sa_type=enum_type(ProductStatus))
    review_note: str | None = Field(default=None, max_length=500)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    units_sold: int = 0
    # Made to order: beyond its stock the workshop makes it, up to `weekly_capacity`
    # units an ISO week (the shop's zone), shipped about `lead_time_days` after.
    made_to_order: bool = False
    lead_time_days: int = 0
    weekly_capacity: int = 0
    # The creative studio that sells it for its makers' workshop (consignment): set by
    # that workshop's coordinator or an operator (income.studios), None when it sells
    # its own goods. The studio takes the commission the operator set for it.
    selling_studio_id: int | None = Field(default=None, foreign_key="workshop.id", index=True)
    # The lowest active variant's price, kept by catalog.services for sorting and
    # filtering by price without grouping over the variants of every product.
    min_price_amount: int | None = None


class ProductVariant(SQLModel, table=True):
    """A sellable version of a product (colour, size) with its own SKU, price, stock.

    Stock never goes below zero: the check constraint backs up the conditional
    `UPDATE ... WHERE stock >= :quantity` that takes it.
    """

    __tablename__ = "product_variant"
    __table_args__ = (
        sa.CheckConstraint("stock >= 0", name="ck_variant_stock_not_negative"),
        sa.CheckConstraint("price_amount >= 0", name="ck_variant_price_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True, ondelete="CASCADE")
    sku: str = Field(max_length=64, unique=True)
    name: str = Field(default="", max_length=60)
    name_en: str | None = Field(default=None, max_length=60)
    price_amount: int
    price_currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    stock: int = 0
    position: int = 0
    is_active: bool = True

    @property
    def price(self) -> Money:
        """The unit price as Money."""
        return Money(self.price_amount, self.price_currency)


class MadeToOrderWeek(SQLModel, table=True):
    """How many units of a made-to-order product were ordered beyond stock in one ISO
    week (`week_start` is its Monday in the shop's zone). Checkouts add to it by a
    conditional update against the product's weekly capacity; released holds subtract."""

    __tablename__ = "made_to_order_week"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "week_start", name="uq_made_to_order_week"),
        sa.CheckConstraint("units_ordered >= 0", name="ck_made_to_order_week_units"),
    )

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True, ondelete="CASCADE")
    week_start: date
    units_ordered: int = 0


class ProductMaker(SQLModel, table=True):
    """Who made a product and their share of its income, in basis points (10000 =
    100%). A product's shares add up to 10000; the ledger splits income by them."""

    __tablename__ = "product_maker"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "maker_id", name="uq_product_maker"),
        sa.CheckConstraint("share_basis_points > 0 AND share_basis_points <= 10000",
                           name="ck_product_maker_share"),
    )

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True, ondelete="CASCADE")
    maker_id: int = Field(foreign_key="user_account.id", index=True)
    share_basis_points: int


class ProductImage(SQLModel, table=True):
    """A product photo, stored as WebP and JPEG renditions named by the upload's hash.

    The files are `<content_hash>-<width>.webp|jpg` under MEDIA_DIR/products; the
    original upload is never kept (it may carry GPS and other metadata).
    """

    __tablename__ = "product_image"

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True, ondelete="CASCADE")
    content_hash: str = Field(max_length=64)
    width: int
    height: int
    rendition_widths: str = Field(max_length=40)  # "320,640,1280"
    alt: str = Field(max_length=200)
    alt_en: str | None = Field(default=None, max_length=200)
    position: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def widths(self) -> list[int]:
        """The widths of the renditions on disk, smallest first."""
        return [int(w) for w in self.rendition_widths.split(",") if w]


class DigitalFileKind(enum.StrEnum):
    SAMPLE = "sample"   # a short excerpt anyone may play
    FULL = "full"       # delivered after payment through a signed link (shop)


class ProductFile(SQLModel, table=True):
    """An audio file of a digital good: a public sample or the full, paid-for file."""

    __tablename__ = "product_file"
    __table_args__ = (sa.UniqueConstraint("product_id", "kind", name="uq_product_file_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True, ondelete="CASCADE")
    kind: DigitalFileKind = Field(sa_type=enum_type(DigitalFileKind))
    content_hash: str = Field(max_length=64)
    extension: str = Field(max_length=8)
    content_type: str = Field(max_length=40)
    size_bytes: int
    original_name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def stored_name(self) -> str:
        """The file's name under MEDIA_DIR/samples or MEDIA_DIR/private."""
        return f"{self.content_hash}.{self.extension}"


class ProductSearchDocument(SQLModel, table=True):
    """The words a product is found by, tokenised in Python the same way for both
    databases (see catalog/search.py). SQLite mirrors it into an FTS5 table by
    triggers; on PostgreSQL a trigger copies the tokens onto the product row as a
    tsvector (`product.search_tokens`, GIN-indexed), where the search reads them."""

    __tablename__ = "product_search_document"

    product_id: int = Field(foreign_key="product.id", primary_key=True, ondelete="CASCADE")
    document: str = Field(default="", sa_type=sa.Text)
