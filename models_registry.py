"""Imports every package's models, so the metadata (and Alembic) sees all tables.

A new models module is added here once.
"""

import accounts.models  # noqa: F401
import catalog.models  # noqa: F401
import core.audit  # noqa: F401
import core.mail  # noqa: F401
import income.models  # noqa: F401
import income.task_order_models  # noqa: F401
import livestream.edge_models  # noqa: F401
import livestream.models  # noqa: F401
import livestream.room_models  # noqa: F401
import shop.models  # noqa: F401
