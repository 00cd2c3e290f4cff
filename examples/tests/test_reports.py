from concurrent.futures import ThreadPoolExecutor

import pytest

from shop.reports import day_total


@pytest.mark.parallel_unsafe
def test_totals_agree_across_threads():
    with ThreadPoolExecutor(8) as pool:
        totals = set(pool.map(day_total, [[1, 2, 3]] * 32))
    assert totals == {6}


def test_month_report():
    days = [[100, 250], [80], [], [40, 60]]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(day_total, days)) == [350, 80, 0, 100]
