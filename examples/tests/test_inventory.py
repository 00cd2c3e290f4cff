import pytest

from shop.inventory import Inventory, OutOfStock


@pytest.fixture
async def stock(tmp_path):
    inventory = await Inventory.open(tmp_path / "stock.json")
    await inventory.add("SKU-1", 3)
    yield inventory
    await inventory.save()


@pytest.mark.asyncio
async def test_reserve_takes_from_stock(stock):
    await stock.reserve("SKU-1", 2)
    assert stock.count("SKU-1") == 1


@pytest.mark.asyncio
async def test_cannot_reserve_more_than_stock(stock):
    with pytest.raises(OutOfStock):
        await stock.reserve("SKU-1", 4)
