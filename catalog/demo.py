"""Demo categories and goods: knot buttons, fabric crafts, cart snacks, audiobooks."""

from __future__ import annotations

import io
import math

from sqlmodel import Session, select

from catalog.models import (
    Category,
    Product,
    ProductImage,
    ProductMaker,
    ProductStatus,
    ProductVariant,
)
from core.db import utcnow

# slug -> (background, pattern colour, alt text in Chinese, alt text in English)
PICTURES = {
    "pankou-plum-set": ((250, 240, 230), (190, 30, 45), "十对红色梅花盘扣排成两行", "Ten pairs of red plum-blossom knot buttons in two rows"),
    "pankou-butterfly": ((235, 240, 250), (40, 80, 160), "一只蓝色蝴蝶形状的盘扣胸针", "A blue butterfly-shaped knot-button brooch"),
    "pankou-bookmark": ((245, 245, 235), (120, 60, 140), "三枚紫色盘扣书签并排放着", "Three purple knot-button bookmarks side by side"),
    "fabric-tote": ((240, 245, 250), (20, 50, 110), "蓝白花纹的手缝布包", "A hand-sewn tote with a blue and white pattern"),
    "fabric-coasters": ((250, 245, 235), (160, 110, 60), "四片棉麻杯垫叠在一起", "Four cotton-linen coasters in a stack"),
    "cart-cookies": ((255, 248, 225), (200, 150, 40), "一盒金黄色的黄油曲奇", "A box of golden butter cookies"),
    "studio-fan": ((235, 245, 240), (30, 110, 90), "画着宁波老城的圆形团扇", "A round fan painted with old Ningbo"),
    "audiobook-tales": ((230, 230, 240), (60, 60, 90), "有声书封面：一本打开的书和耳机", "Audiobook cover: an open book and headphones"),
    "pankou-straight": ((245, 238, 228), (150, 40, 40), "十对深红色一字盘扣排成一排", "Ten pairs of deep red straight knot buttons in a row"),
    "fabric-cushion": ((238, 244, 250), (25, 60, 120), "一个蓝白花纹的方形靠垫", "A square cushion with a blue and white pattern"),
}


def demo_picture(background, colour, seed: int) -> bytes:
    """A simple 1280x960 picture drawn with Pillow (a ring of knots on a cloth)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1280, 960), background)
    draw = ImageDraw.Draw(image)
    for row in range(0, 960, 40):
        draw.line([(0, row), (1280, row)], fill=tuple(max(0, c - 12) for c in background))
    for i in range(10):
        angle = 2 * math.pi * i / 10 + seed
        x, y = 640 + 300 * math.cos(angle), 480 + 300 * math.sin(angle)
        draw.ellipse([x - 60, y - 60, x + 60, y + 60], outline=colour, width=14)
        draw.ellipse([x - 20, y - 20, x + 20, y + 20], fill=colour)
    draw.ellipse([520, 360, 760, 600], fill=colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def _add_pictures(*, session: Session, products: dict, operator) -> None:
    from flask import current_app

    from catalog.media import add_image

    for seed, (slug, (background, colour, alt, alt_en)) in enumerate(PICTURES.items()):
        product = products.get(slug)
        if product is None or session.exec(select(ProductImage.id).where(
                ProductImage.product_id == product.id)).first():
            continue
        add_image(session=session, user=operator, product=product,
                  data=demo_picture(background, colour, seed), filename=f"{slug}.jpg",
                  alt=alt, alt_en=alt_en, media_dir=current_app.config["MEDIA_DIR"])

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
    ("pankou-straight", "hexin-pankou", "pankou", "手工一字盘扣 十对装", "Straight knot buttons, 10 pairs",
     "按订单手工编，做好后发货。可选颜色，适合中式外套。", ["knot1", "knot2"],
     [("PK-STRAIGHT", "", None, 5200, 0)]),
    ("fabric-cushion", "li-fabric", "fabric", "蓝印花布靠垫", "Blue-print cloth cushion",
     "现货卖完后按订单缝制，每周做得不多。", ["fabric1"],
     [("FB-CUSHION", "", None, 9800, 2)]),
]
# Made to order: slug -> (lead time in days, units the workshop makes a week).
MADE_TO_ORDER = {"pankou-straight": (7, 30), "fabric-cushion": (10, 6)}


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
            if slug in MADE_TO_ORDER:
                product.made_to_order = True
                product.lead_time_days, product.weekly_capacity = MADE_TO_ORDER[slug]
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
    from catalog.services import refresh_listing

    for product in products.values():
        refresh_listing(session=session, product=product)
    _add_pictures(session=session, products=products, operator=people["operator"])
    return products
