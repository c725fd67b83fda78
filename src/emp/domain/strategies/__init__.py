"""Strategies that ship with EMP itself (baselines). Third-party ones come from plugins."""
