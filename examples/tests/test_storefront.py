"""End-to-end: the storefront in a real browser."""

import sys

try:
    from playwright.sync_api import sync_playwright
except ImportError:
    print("Playwright not available: pip install playwright")
    sys.exit(1)


def test_home_page_title():
    with sync_playwright() as p:
        browser = p.chromium.launch()
        page = browser.new_page()
        page.goto("http://127.0.0.1:8000")
        assert page.title() == "Shop"
        browser.close()
