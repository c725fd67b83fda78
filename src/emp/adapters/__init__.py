"""One package per real technology, each implementing one or more ports.

Adapters import :mod:`emp.domain`, :mod:`emp.ports` and their own technology, never each
other (the FIX adapters may share :mod:`emp.adapters.fix_codec`), and never the app layer.
"""
