"""The in-process simulated venue: a bar matcher behind two faces.

:class:`SimulatedVenue` is the direct face (domain commands in, domain events out);
:class:`MockFixVenue` puts the same venue behind FIX 4.4 bytes (via
:mod:`emp.adapters.fix_codec`) so the wire format is exercised in every backtest that wants
it. Both implement :class:`~emp.ports.simulated_venue.SimulatedVenuePort`.
"""

from emp.adapters.fix_sim.config import FillModel, SimulatedVenueConfig
from emp.adapters.fix_sim.mock_fix import MockFixVenue
from emp.adapters.fix_sim.venue import SimulatedVenue

__all__ = ["FillModel", "MockFixVenue", "SimulatedVenue", "SimulatedVenueConfig"]
