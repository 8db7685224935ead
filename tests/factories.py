"""Factories: build what a test needs with the real services, nothing shared."""

from __future__ import annotations

import itertools

from accounts import services as account_services
from accounts.models import Role, User, Workshop, WorkshopKind
from catalog.models import Product, ProductMaker, ProductStatus, ProductVariant
from core.db import utcnow

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def make_user(session, *, roles=(Role.SHOPPER,), email=None, name=None, phone=None,
              password=PASSWORD, locale="zh_Hans_CN") -> User:
    """An account with the given roles."""
    n = next(_counter)
    return account_services.register_user(
        session=session, email=email or f"person{n}@example.cn", password=password,
        display_name=name or f"测试用户{n}", phone=phone, roles=tuple(roles), locale=locale)


def make_workshop(session, *, name=None, kind=WorkshopKind.WORKSHOP, makers=(),
                  coordinator=None) -> Workshop:
    """A workshop with the given makers (and coordinator) as members."""
    n = next(_counter)
    workshop = account_services.create_workshop(
        session=session, slug=f"workshop-{n}", name=name or f"测试工坊{n}", kind=kind)
    for maker in makers:
        account_services.add_member(session=session, workshop=workshop, user=maker)
    if coordinator is not None:
        account_services.add_member(session=session, workshop=workshop, user=coordinator,
                                    is_coordinator=True)
    return workshop


def make_product(session, *, workshop: Workshop, makers=(), title=None, price=5000, stock=10,
                 status=ProductStatus.PUBLISHED, category_id=None) -> Product:
    """A product with one variant and equal maker shares."""
    n = next(_counter)
    product = Product(slug=f"product-{n}", workshop_id=workshop.id, title=title or f"商品{n}",
                      status=status, category_id=category_id,
                      published_at=utcnow() if status == ProductStatus.PUBLISHED else None)
    session.add(product)
    session.flush()
    session.add(ProductVariant(product_id=product.id, sku=f"SKU-{n}", price_amount=price,
                               stock=stock))
    if makers:
        base, left = divmod(10000, len(makers))
        for index, maker in enumerate(makers):
            session.add(ProductMaker(product_id=product.id, maker_id=maker.id,
                                     share_basis_points=base + (1 if index < left else 0)))
    session.flush()
    return product


def login(client, email, password=PASSWORD):
    """Sign in through the real form."""
    return client.post("/account/login", data={"login": email, "password": password})
