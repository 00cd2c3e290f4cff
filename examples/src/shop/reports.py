"""Sales reports."""

from __future__ import annotations

from collections.abc import Iterable


def day_total(sales: Iterable[int]) -> int:
    return sum(sales)
