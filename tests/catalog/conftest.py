"""What the catalog's tests share: a small shop on the test's database."""

from __future__ import annotations

import pytest

from accounts import services as account_services
from accounts.models import Role
from catalog.models import ProductStatus
from catalog.services import refresh_listing
from tests.factories import make_product, make_user, make_workshop


@pytest.fixture
def shop(app):
    from core.db import db

    with app.app_context(), db.transaction() as session:
        named = make_user(session, roles=(Role.MAKER,))
        account_services.save_maker_profile(session=session, user=named, public_name="张巧手",
                                            story="我编了二十年盘扣。", show_name_publicly=True,
                                            show_story_publicly=True)
        hidden = make_user(session, roles=(Role.MAKER,))
        account_services.save_maker_profile(session=session, user=hidden, public_name="不公开",
                                            show_name_publicly=False)
        workshop = make_workshop(session, name="和心盘扣工坊", makers=[named, hidden])
        on_sale = make_product(session, workshop=workshop, title="梅花盘扣", makers=[named, hidden],
                               price=6800, stock=7)
        draft = make_product(session, workshop=workshop, title="草稿盘扣",
                             status=ProductStatus.DRAFT)
        for product in (on_sale, draft):
            refresh_listing(session=session, product=product)
        return dict(slug=on_sale.slug, draft=draft.slug, workshop=workshop.slug,
                    named=named.id, hidden=hidden.id)
