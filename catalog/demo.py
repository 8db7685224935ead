"""Demo categories and goods: knot buttons, fabric crafts, cart snacks, audiobooks."""

from __future__ import annotations

from sqlmodel import Session, select

from catalog.models import Category, Product, ProductMaker, ProductStatus, ProductVariant
from core.db import utcnow

CATEGORIES = [
    # slug, name, name_en, digital
    ("pankou", "盘扣", "Knot buttons", False),
    ("fabric", "布艺", "Fabric crafts", False),
    ("weaving", "编织", "Weaving", False),
    ("farm", "农产品", "Farm produce", False),
    ("creative", "文创", "Cultural-creative goods", False),
    ("audiobook", "有声书", "Audiobooks", True),
]

# slug, workshop, category, title, title_en, description, makers (email prefix list),
# variants: (sku, name, name_en, price fen, stock)
PRODUCTS = [
    ("pankou-plum-set", "hexin-pankou", "pankou", "梅花盘扣 十对装", "Plum-blossom knot buttons, 10 pairs",
     "手工编的梅花盘扣，适合旗袍、汉服和中式外套。", ["knot1", "knot2", "knot3"],
     [("PK-PLUM-RED", "中国红", "Chinese red", 6800, 40),
      ("PK-PLUM-BLU", "青花蓝", "Porcelain blue", 6800, 25)]),
    ("pankou-butterfly", "hexin-pankou", "pankou", "蝴蝶盘扣胸针", "Butterfly knot-button brooch",
     "一只蝴蝶要编两个小时。可以别在衣服、包上。", ["knot4", "knot5"],
     [("PK-BFLY", "", None, 3900, 60)]),
    ("pankou-bookmark", "hexin-pankou", "pankou", "盘扣书签 三枚", "Knot-button bookmarks, 3 pieces",
     "丝线盘扣做的书签，送老师、送同学都好。", ["knot6", "knot7", "knot8", "knot9"],
     [("PK-BOOK", "", None, 2500, 100)]),
    ("fabric-tote", "li-fabric", "fabric", "手缝蓝印花布包", "Hand-sewn blue-print cloth tote",
     "宁波蓝印花布，内有小口袋，每一针都是手缝的。", ["fabric1"],
     [("FB-TOTE", "", None, 12800, 12)]),
    ("fabric-coasters", "li-fabric", "fabric", "布艺杯垫 四片装", "Fabric coasters, set of 4",
     "棉麻杯垫，吸水，可以机洗。", ["fabric1"],
     [("FB-COAST", "", None, 4500, 30)]),
    ("cart-cookies", "yong-ai-cart", "farm", "小黄车手工曲奇", "Yellow-cart handmade cookies",
     "心智障碍青年自己烤的黄油曲奇，每天现做。", ["cart1", "cart2", "cart3", "cart4"],
     [("YC-COOKIE-S", "小盒", "Small box", 2000, 80),
      ("YC-COOKIE-L", "大盒", "Large box", 3800, 40)]),
    ("studio-fan", "canyi-studio", "creative", "印象宁波团扇", "Impressions of Ningbo round fan",
     "南塘老街文创馆设计，画的是宁波老城。", ["studio1"],
     [("CY-FAN", "", None, 5800, 20)]),
    ("audiobook-tales", "shuguang-audiobooks", "audiobook", "有声书：宁波老故事", "Audiobook: Old Tales of Ningbo",
     "盲人主播录制，十二个宁波老故事，全长约六小时。", ["narrator1", "narrator2"],
     [("AB-TALES", "", None, 1990, 100000)]),
]


def _shares(count: int) -> list[int]:
    """Equal shares in basis points that add up to exactly 10000."""
    base, left = divmod(10000, count)
    return [base + (1 if i < left else 0) for i in range(count)]


def load_catalog(*, session: Session, people: dict) -> dict[str, Product]:
    """Categories and published products; returns products by slug."""
    categories = {}
    for position, (slug, name, name_en, digital) in enumerate(CATEGORIES):
        category = session.exec(select(Category).where(Category.slug == slug)).first()
        if category is None:
            category = Category(slug=slug, name=name, name_en=name_en, is_digital=digital,
                                position=position)
            session.add(category)
            session.flush()
        categories[slug] = category

    products = {}
    for (slug, workshop_slug, category_slug, title, title_en, description, makers,
         variants) in PRODUCTS:
        product = session.exec(select(Product).where(Product.slug == slug)).first()
        if product is None:
            category = categories[category_slug]
            product = Product(
                slug=slug, workshop_id=people["workshops"][workshop_slug].id,
                category_id=category.id, title=title, title_en=title_en,
                description=description, is_digital=category.is_digital,
                status=ProductStatus.PUBLISHED, published_at=utcnow(),
                created_by_id=people["operator"].id)
            session.add(product)
            session.flush()
            for position, (sku, name, name_en, price, stock) in enumerate(variants):
                session.add(ProductVariant(product_id=product.id, sku=sku, name=name,
                                           name_en=name_en, price_amount=price, stock=stock,
                                           position=position))
            for prefix, share in zip(makers, _shares(len(makers)), strict=True):
                maker = people["makers"][f"{prefix}@demo.gongfang.cn"]
                session.add(ProductMaker(product_id=product.id, maker_id=maker.id,
                                         share_basis_points=share))
            session.flush()
        products[slug] = product
    return products
