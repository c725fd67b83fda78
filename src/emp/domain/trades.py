"""Round-trip trades: from flat to flat (or through zero), with PnL net of fees."""

from __future__ import annotations

from dataclasses import dataclass

from emp.domain.fills import Fill

_QTY_EPS = 1e-9


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosedTrade:
    symbol: str
    direction: int  # +1 long, -1 short
    entry_ns: int
    exit_ns: int
    max_quantity: float
    pnl: float  # realized trading PnL minus every fee paid inside the round trip

    @property
    def is_win(self) -> bool:
        return self.pnl > 0


@dataclass(slots=True)
class _OpenTrade:
    direction: int
    entry_ns: int
    max_quantity: float
    pnl: float


class TradeLog:
    """Folds fills into round trips. Call :meth:`record` after the portfolio booked a fill."""

    def __init__(self) -> None:
        self._open: dict[str, _OpenTrade] = {}
        self.closed: list[ClosedTrade] = []

    def record(self, fill: Fill, realized_pnl: float, position_after: float) -> None:
        position_before = position_after - fill.signed_quantity
        trade = self._open.get(fill.symbol)
        if trade is None:
            if abs(position_after) <= _QTY_EPS:  # pragma: no cover - a fill always moves
                return
            self._open[fill.symbol] = _OpenTrade(
                direction=1 if position_after > 0 else -1,
                entry_ns=fill.ts_ns,
                max_quantity=abs(position_after),
                pnl=-fill.fee,
            )
            return
        crossed = position_before * position_after < 0
        if crossed:
            # split the fee pro rata between the closing and the opening part
            closing_share = abs(position_before) / fill.quantity
            trade.pnl += realized_pnl - fill.fee * closing_share
            self._close(fill.symbol, trade, fill.ts_ns)
            self._open[fill.symbol] = _OpenTrade(
                direction=1 if position_after > 0 else -1,
                entry_ns=fill.ts_ns,
                max_quantity=abs(position_after),
                pnl=-fill.fee * (1.0 - closing_share),
            )
            return
        trade.pnl += realized_pnl - fill.fee
        trade.max_quantity = max(trade.max_quantity, abs(position_after))
        if abs(position_after) <= _QTY_EPS:
            self._close(fill.symbol, trade, fill.ts_ns)

    def _close(self, symbol: str, trade: _OpenTrade, exit_ns: int) -> None:
        del self._open[symbol]
        self.closed.append(
            ClosedTrade(
                symbol=symbol,
                direction=trade.direction,
                entry_ns=trade.entry_ns,
                exit_ns=exit_ns,
                max_quantity=trade.max_quantity,
                pnl=trade.pnl,
            )
        )

    @property
    def open_symbols(self) -> tuple[str, ...]:
        return tuple(self._open)
