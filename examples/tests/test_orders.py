from unittest import mock

from shop import orders

PRICES = {"SKU-1": 1250, "SKU-2": 399}


def test_checkout_charges_the_cart_total():
    with mock.patch("shop.payments.charge") as charge:
        charge.return_value = "txn-42"
        order = orders.checkout({"SKU-1": 2, "SKU-2": 1}, PRICES, card_token="tok_visa")
    charge.assert_called_once_with("tok_visa", 2899)
    assert order.transaction == "txn-42"


def test_empty_cart_costs_nothing():
    with mock.patch("shop.orders.charge", return_value="txn-0"):
        assert orders.checkout({}, PRICES, card_token="tok_visa").total_cents == 0
