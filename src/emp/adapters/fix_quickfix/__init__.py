"""Real FIX 4.4 sessions through quickfix (the `fix` extra: quickfix-ssl).

* :class:`QuickfixVenue` — EMP's initiator, a :class:`~emp.ports.venue.VenuePort`: the
  path a fork points at its broker.
* :class:`FixVenueServer` — the venue simulator (:mod:`emp.domain.matching`) served as a
  quickfix acceptor, what ``emp venue serve`` runs.
* :class:`DuckDBAuditJournal` — the append-only journal of application messages.

See docs/fix.md for settings, supported messages and tags.
"""

from emp.adapters.fix_quickfix.audit import DuckDBAuditJournal, Lineage
from emp.adapters.fix_quickfix.config import (
    FixSessionConfig,
    TlsFiles,
    installed_data_dictionary,
)
from emp.adapters.fix_quickfix.credentials import FixCredentials, Secret, redact_fix
from emp.adapters.fix_quickfix.md_publisher import MarketDataVenueServer, md_data_dictionary
from emp.adapters.fix_quickfix.md_subscriber import QuickfixMarketData
from emp.adapters.fix_quickfix.paper import PaperFixVenue, RemoteFixVenue
from emp.adapters.fix_quickfix.reconnect import Backoff
from emp.adapters.fix_quickfix.tls_front import free_loopback_port
from emp.adapters.fix_quickfix.venue import QuickfixVenue, VenueLogonRefused
from emp.adapters.fix_quickfix.venue_server import FixVenueServer, VenueServerConfig

__all__ = [
    "Backoff",
    "DuckDBAuditJournal",
    "FixCredentials",
    "FixSessionConfig",
    "FixVenueServer",
    "Lineage",
    "MarketDataVenueServer",
    "PaperFixVenue",
    "QuickfixMarketData",
    "QuickfixVenue",
    "RemoteFixVenue",
    "Secret",
    "TlsFiles",
    "VenueLogonRefused",
    "VenueServerConfig",
    "free_loopback_port",
    "installed_data_dictionary",
    "md_data_dictionary",
    "redact_fix",
]
