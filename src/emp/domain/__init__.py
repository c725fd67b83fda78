"""The pure core of EMP: stdlib and numpy only.

No I/O, no wall-clock reads, no global randomness (randomness comes in as an injected
``numpy.random.Generator``), no logging configuration. Everything here can be used from a
backtest, a paper session or a unit test alike.
"""
