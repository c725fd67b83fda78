"""Market data from the OpenBB Platform (optional extra; ``openbb`` imported only when used).

Market data only, never orders: like the Yahoo adapter, a named exception to the FIX-only
guard's HTTP ban. ``import emp.adapters.openbb`` does not import openbb.
"""

from emp.adapters.openbb.bar_source import ASSETS, OpenBBBarSource

__all__ = ["ASSETS", "OpenBBBarSource"]
