"""An example EMP strategy plugin: simple moving-average crossover."""

from emp_sma_cross.strategy import SmaCross

__all__ = ["SmaCross"]
__version__ = "0.1.0"
