"""Answers computed once and shared by the rules, under typed keys.

Rules ask the same questions many times: "does pytest-asyncio run this file in
strict mode", "which markers does the suite use". A `Memo` keeps each answer: per
file (`RuleContext.memo`), per project (`Project.memo`) or per parsed file
(`Scan.memo`). Keys are `Key` objects declared once beside the question, typed by
the answer, so two questions cannot collide on a string and every answer has one
type.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


class Key(Generic[T]):
    """A question whose answers a `Memo` keeps (compared by identity)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Key({self.name})"


class Memo:
    __slots__ = ("_answers",)

    def __init__(self) -> None:
        self._answers: dict[tuple[Key[Any], Hashable], Any] = {}

    def known(self, key: Key[Any], argument: Hashable = None) -> bool:
        """Whether the answer to `key` for `argument` has been computed."""
        return (key, argument) in self._answers

    def get(self, key: Key[T], compute: Callable[[], T], argument: Hashable = None) -> T:
        """The answer to `key` for `argument`, computed on first use."""
        slot = (key, argument)
        if slot not in self._answers:
            self._answers[slot] = compute()
        return cast(T, self._answers[slot])
