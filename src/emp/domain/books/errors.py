"""Errors of the order books."""

from __future__ import annotations

from emp.domain.errors import DomainError


class BookInconsistent(DomainError):
    """An update contradicts the book or breaks an invariant (crossed, size <= 0, ...).

    The book may be half-updated when this is raised: whoever applies updates (the
    :class:`~emp.domain.books.sync.BookSynchronizer`) marks the instrument stale and asks
    for a snapshot, so a corrupted book is never mistaken for a good one.
    """


class BackfillMismatch(DomainError):
    """Replaying a synthetic increment stream did not reproduce a snapshot."""
