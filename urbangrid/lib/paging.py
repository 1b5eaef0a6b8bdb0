"""Bounded ``?limit=`` / ``?offset=`` query parameters, the same for every list of the API.

The bounds are part of the published schema; a value outside them is refused with a 422 in the
API's error format instead of reaching the database (a negative slice raises, an offset past
bigint overflows the driver, a limit without a ceiling returns every row).
"""

from __future__ import annotations

from typing import Any

from ninja import Query

# Deeper than any person pages; a client that needs more rows narrows the filter instead.
MAX_OFFSET = 1_000_000


def Limit(default: int, maximum: int) -> Any:  # noqa: N802 - used like ninja's Query()
    """``limit: int = Limit(50, 200)``: 1..maximum rows, ``default`` when absent."""
    return Query(default, ge=1, le=maximum)


def Offset() -> Any:  # noqa: N802 - used like ninja's Query()
    """``offset: int = Offset()``: rows to skip, 0..MAX_OFFSET."""
    return Query(0, ge=0, le=MAX_OFFSET)
