"""The income blueprint with every income, payout, impact and stall route attached."""

from income import operator_views, stall_views  # noqa: F401  (they add routes to bp)
from income.views import bp

__all__ = ["bp"]
