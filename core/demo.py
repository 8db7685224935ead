"""The demo shop: Ningbo's workshops, makers, hosts, goods and streams, in Chinese.

Each package loads its own part; every part finds its rows by a natural key first,
so loading twice adds nothing.
"""

from __future__ import annotations

from core.db import db

DEMO_PASSWORD = "gongfang-demo-2026"
DEMO_OPERATOR_EMAIL = "operator@demo.gongfang.cn"


def load_demo() -> None:
    """Load every package's demo data in one transaction."""
    from accounts.demo import load_accounts
    from catalog.demo import load_catalog
    from livestream.demo import load_livestream

    with db.transaction() as session:
        people = load_accounts(session=session, password=DEMO_PASSWORD,
                               operator_email=DEMO_OPERATOR_EMAIL)
        products = load_catalog(session=session, people=people)
        load_livestream(session=session, people=people, products=products)
        from income.demo import load_income

        load_income(session=session, people=people)
        from income.task_order_demo import load_task_orders

        load_task_orders(session=session, people=people)
        from shop.bank_transfer import load_demo_account

        load_demo_account(session=session, people=people)
