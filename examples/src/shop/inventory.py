"""Stock levels, kept in a JSON file and shared by concurrent requests."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path


class OutOfStock(Exception):
    pass


class Inventory:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._stock: dict[str, int] = {}
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Inventory:
        inventory = cls(path)
        if path.exists():
            inventory._stock = json.loads(path.read_text())
        return inventory

    async def add(self, sku: str, quantity: int) -> None:
        async with self._lock:
            self._stock[sku] = self._stock.get(sku, 0) + quantity

    async def reserve(self, sku: str, quantity: int) -> None:
        async with self._lock:
            if self._stock.get(sku, 0) < quantity:
                raise OutOfStock(sku)
            self._stock[sku] -= quantity

    def count(self, sku: str) -> int:
        return self._stock.get(sku, 0)

    async def save(self) -> None:
        async with self._lock:
            self.path.write_text(json.dumps(self._stock))
