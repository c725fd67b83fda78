"""The venue simulator's matching engine: pure, deterministic, timestamps injected.

:class:`MatchingEngine` keeps a price-time priority :class:`OrderBook` per instrument with
the venue's own orders and displayed liquidity from market data (:class:`BookSnapshot`,
:class:`TradePrint`); :class:`SimulatedExchange` adds a seeded latency model and time
ordering on top. The served FIX venue and in-process simulations use the same classes.
"""

from emp.domain.matching.book import OrderBook, PriceLevel, Trade
from emp.domain.matching.engine import LiquidityCounters, MatchingConfig, MatchingEngine
from emp.domain.matching.errors import InvalidMarketData
from emp.domain.matching.exchange import (
    Delivery,
    MassStatusAnswer,
    MassStatusQuery,
    SimulatedExchange,
    StatusAnswer,
    StatusQuery,
)
from emp.domain.matching.latency import FixedLatency, LatencyModel, LogNormalLatency
from emp.domain.matching.liquidity import SyntheticLiquidity, bar_updates, ladder
from emp.domain.matching.market_data import BookSnapshot, MarketUpdate, TradePrint
from emp.domain.matching.records import CancelRejectReason, MatchReport, OrderState, QueueModel
from emp.domain.matching.validation import VenueLimits

__all__ = [
    "BookSnapshot",
    "CancelRejectReason",
    "Delivery",
    "FixedLatency",
    "InvalidMarketData",
    "LatencyModel",
    "LiquidityCounters",
    "LogNormalLatency",
    "MarketUpdate",
    "MassStatusAnswer",
    "MassStatusQuery",
    "MatchReport",
    "MatchingConfig",
    "MatchingEngine",
    "OrderBook",
    "OrderState",
    "PriceLevel",
    "QueueModel",
    "SimulatedExchange",
    "StatusAnswer",
    "StatusQuery",
    "SyntheticLiquidity",
    "Trade",
    "TradePrint",
    "VenueLimits",
    "bar_updates",
    "ladder",
]
