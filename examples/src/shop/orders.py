"""Turning a cart into a paid order."""

from __future__ import annotations

from dataclasses import dataclass

from shop.payments import charge


@dataclass
class Order:
    total_cents: int
    transaction: str


def checkout(cart: dict[str, int], prices: dict[str, int], card_token: str) -> Order:
    """Charge the card for the cart (SKU -> quantity) and return the order."""
    total = sum(prices[sku] * quantity for sku, quantity in cart.items())
    return Order(total_cents=total, transaction=charge(card_token, total))
