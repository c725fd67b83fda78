"""The sensory cortex: causal features computed from market data (grows with later issues)."""

from emp.domain.features.spec import FeatureSpec

__all__ = ["FeatureSpec"]
