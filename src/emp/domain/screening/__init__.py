"""The screening path: vectorised backtests of simple bar strategies, for parameter sweeps.

It reproduces, bar for bar, what the event engine (:mod:`emp.app.engine`) does with the same
strategy, venue costs and fill model on one symbol — the same fills, the same equity curve
(see ``tests/integration/test_backtest_parity.py``) — but in numpy, without order objects,
risk checks or a venue. Use it to screen thousands of parameter sets; confirm the winners in
the event engine.
"""

from emp.domain.screening.costs import ScreeningCosts
from emp.domain.screening.sma_cross import ScreenResult, screen_sma_cross, sweep_sma_cross

__all__ = ["ScreenResult", "ScreeningCosts", "screen_sma_cross", "sweep_sma_cross"]
