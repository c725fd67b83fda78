"""EMP — Evolving Market Predator.

A hexagonal framework for algorithmic-trading research: a pure domain core
(:mod:`emp.domain`), thin ports (:mod:`emp.ports`), one adapter package per technology
(:mod:`emp.adapters`) and a single composition root (:mod:`emp.app`).

Importing :mod:`emp` does no work: no engines, sessions, files or sockets are created.
"""

__version__ = "0.1.0"
