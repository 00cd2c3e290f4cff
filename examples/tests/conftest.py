import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    # Tests that start their own threads or processes share one xdist worker.
    for item in items:
        if item.get_closest_marker("parallel_unsafe"):
            item.add_marker(pytest.mark.xdist_group("parallel_unsafe"))
