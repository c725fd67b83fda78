"""Backtests on the venue simulator's book matching engine.

:class:`BookSimulatedVenue` implements :class:`~emp.ports.simulated_venue.SimulatedVenuePort`
on the domain's :class:`~emp.domain.matching.SimulatedExchange` and
:class:`~emp.domain.matching.MatchingEngine` (the engine the served FIX venue runs): each
bar becomes a displayed book and trade prints, orders reach the engine after a seeded
latency, walk the displayed depth, and passive orders queue behind displayed size.
"""

from emp.adapters.book_sim.config import BookVenueConfig
from emp.adapters.book_sim.venue import BookSimulatedVenue

__all__ = ["BookSimulatedVenue", "BookVenueConfig"]
