"""The interfaces the core needs, one ``typing.Protocol`` per module, errors beside each.

Ports import only :mod:`emp.domain`, the standard library and numpy; adapters implement them.
"""
