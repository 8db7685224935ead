"""The income blueprint with every income, payout, impact and stall route attached."""

from income import (  # noqa: F401  (they add routes to bp)
    operator_views,
    stall_day_views,
    stall_operator_views,
    stall_views,
    studio_views,
    task_order_views,
)
from income.views import bp

__all__ = ["bp"]
