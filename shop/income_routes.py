"""The income blueprint with every income, payout, impact and stall route attached."""

from shop import income_operator_views, stall_views  # noqa: F401  (they add routes to bp)
from shop.income_views import bp

__all__ = ["bp"]
