"""Random valid market-data streams for property tests, with their reference model.

A stream is generated against a plain model (dicts of tick → size per side, or of
orders) that stays uncrossed after every entry, so every message is valid by
construction and the model is the expected book after each message.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emp.domain.instruments import Instrument
from emp.domain.market_data import EntryType, MdEntries, MdIncrement, MdSnapshot, UpdateAction

TICK = 0.01
INSTRUMENT = Instrument(symbol="ABC", tick_size=TICK)
T0 = 1_700_000_000_000_000_000
NEW, CHANGE, DELETE = UpdateAction.NEW, UpdateAction.CHANGE, UpdateAction.DELETE
BID, ASK = EntryType.BID, EntryType.OFFER


def price(tick: int) -> float:
    return round(tick * TICK, 2)


@dataclass
class L2Model:
    """Reference book: tick → size per side."""

    bids: dict[int, float]
    asks: dict[int, float]

    def image(self) -> tuple:
        return (
            tuple((price(t), s) for t, s in sorted(self.bids.items(), reverse=True)),
            tuple((price(t), s) for t, s in sorted(self.asks.items())),
        )


def _free_tick(rng: np.random.Generator, side: dict, other: dict, is_bid: bool, far: bool) -> int:
    span = 3000 if far else 40
    while True:
        if is_bid:
            top = min(other) - 1 if other else (max(side) + 3 if side else 10_000)
            candidates = [t for t in range(top - span, top + 1) if t not in side]
        else:
            low = max(other) + 1 if other else (min(side) - 3 if side else 10_010)
            candidates = [t for t in range(low, low + span + 1) if t not in side]
        if candidates:
            return int(candidates[rng.integers(len(candidates))])
        span *= 2


def l2_stream(
    rng: np.random.Generator, messages: int, *, far_prob: float = 0.0
) -> tuple[list[tuple[list, list, list, list]], list[tuple]]:
    """Messages as (actions, types, prices, sizes) and the model image after each."""
    model = L2Model({}, {})
    out, images = [], []
    for _ in range(messages):
        actions, types, prices, sizes = [], [], [], []
        for _ in range(int(rng.integers(1, 5))):
            is_bid = bool(rng.integers(2))
            side, other = (model.bids, model.asks) if is_bid else (model.asks, model.bids)
            roll = rng.random()
            if not side or roll < 0.45:
                tick = _free_tick(rng, side, other, is_bid, rng.random() < far_prob)
                size = float(rng.integers(1, 1000))
                side[tick] = size
                action = NEW
            elif roll < 0.75:
                tick = list(side)[rng.integers(len(side))]
                size = float(rng.integers(1, 1000))
                side[tick] = size
                action = CHANGE
            else:
                tick = list(side)[rng.integers(len(side))]
                del side[tick]
                size, action = 0.0, DELETE
            actions.append(action)
            types.append(BID if is_bid else ASK)
            prices.append(price(tick))
            sizes.append(size)
        out.append((actions, types, prices, sizes))
        images.append(model.image())
    return out, images


def l3_stream(
    rng: np.random.Generator, messages: int
) -> tuple[list[tuple[list, list, list, list, list]], list[dict]]:
    """Order-level messages (…, entry ids) and the order image after each."""
    orders: dict[str, tuple[int, int, float]] = {}  # id → (type, tick, size)
    next_id = 0
    out, images = [], []

    def best(t: int) -> int | None:
        ticks = [tick for (tt, tick, _s) in orders.values() if tt == t]
        if not ticks:
            return None
        return max(ticks) if t == BID else min(ticks)

    def fresh_tick(t: int) -> int:
        opposite = best(ASK if t == BID else BID)
        if t == BID:
            top = opposite - 1 if opposite is not None else 10_000
            return int(top - rng.integers(0, 8))
        low = opposite + 1 if opposite is not None else 10_010
        return int(low + rng.integers(0, 8))

    for _ in range(messages):
        cols: tuple[list, list, list, list, list] = ([], [], [], [], [])
        for _ in range(int(rng.integers(1, 5))):
            roll = rng.random()
            if not orders or roll < 0.45:
                t = BID if rng.integers(2) else ASK
                oid = f"o{next_id}"
                next_id += 1
                tick, size = fresh_tick(t), float(rng.integers(1, 100))
                orders[oid] = (t, tick, size)
                row = (NEW, t, price(tick), size, oid)
            else:
                oid = list(orders)[rng.integers(len(orders))]
                t, tick, size = orders[oid]
                if roll < 0.6:
                    del orders[oid]
                    tick = fresh_tick(t)
                    orders[oid] = (t, tick, size)
                    row = (CHANGE, t, price(tick), size, oid)
                elif roll < 0.8:
                    size = float(rng.integers(1, 100))
                    orders[oid] = (t, tick, size)
                    row = (CHANGE, t, price(tick), size, oid)
                else:
                    del orders[oid]
                    row = (DELETE, t, price(tick), 0.0, oid)
            for col, value in zip(cols, row, strict=True):
                col.append(value)
        out.append(cols)
        images.append({oid: (t, price(tick), s) for oid, (t, tick, s) in orders.items()})
    return out, images


def snapshot_of(
    image: tuple, *, seq_num: int, ts_ns: int, rpt_seq: int | None = None
) -> MdSnapshot:
    rows = [(BID, p, s) for p, s in image[0]] + [(ASK, p, s) for p, s in image[1]]
    return MdSnapshot(
        symbol="ABC",
        entries=MdEntries(
            actions=[NEW] * len(rows),
            types=[r[0] for r in rows],
            prices=[r[1] for r in rows],
            sizes=[r[2] for r in rows],
            symbols=["ABC"] * len(rows),
        ),
        seq_num=seq_num,
        ts_ns=ts_ns,
        rpt_seq=rpt_seq,
    )


def increment_of(
    message: tuple, *, seq_num: int, ts_ns: int, first_rpt: int | None = None, symbol: str = "ABC"
) -> MdIncrement:
    actions, types, prices, sizes = message[:4]
    n = len(actions)
    return MdIncrement(
        entries=MdEntries(
            actions=list(actions),
            types=list(types),
            prices=list(prices),
            sizes=list(sizes),
            symbols=[symbol] * n,
            rpt_seqs=None if first_rpt is None else list(range(first_rpt, first_rpt + n)),
            entry_ids=list(message[4]) if len(message) > 4 else None,
        ),
        seq_num=seq_num,
        ts_ns=ts_ns,
    )
