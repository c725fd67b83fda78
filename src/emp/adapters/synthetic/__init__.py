"""Synthetic bars from a seed: a regime-switching, multi-symbol daily bar generator."""

from emp.adapters.synthetic.bar_source import RegimeSwitchingBarSource

__all__ = ["RegimeSwitchingBarSource"]
