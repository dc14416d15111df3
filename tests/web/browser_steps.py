"""Steps of the browser tests that several tests repeat: sign in, sell, read a cell."""

import os
from pathlib import Path

from playwright.sync_api import Page, expect

PASSWORD = "counter-Pass-2026"


def sign_in(page: Page, username: str) -> None:
    """Sign in on the sign-in screen, leaving any earlier session first."""
    page.context.clear_cookies()
    page.goto("/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def line_cell(page: Page, sku: str, column: str) -> str:
    """The text of one bucket column (qty, delivered, ready, bo, status) of an order line."""
    return page.locator(f'#order-lines tr[data-sku="{sku}"] [data-col="{column}"]').inner_text()


def scan(page: Page, code: str) -> None:
    """Type a SKU into the sales screen's scan field and press Enter, as a scanner does."""
    field = page.locator("#scan")
    field.fill(code)
    field.press("Enter")
    expect(page.locator(f'#lines input[value="{code}"]')).to_have_count(1)
    htmx_settled(page)


def htmx_settled(page: Page) -> None:
    """Wait until htmx has no request in flight and has settled the last swap.

    After a swap settles, the page moves the focus to the form's autofocus
    field. Keys typed into another field before that can land in that field.
    """
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)


def choose_customer(page: Page, name: str) -> None:
    field = page.locator("#customer-query")
    field.fill(name)
    field.press("Enter")
    expect(page.locator("#customer-chosen")).to_contain_text(name)


def screenshot(page: Page, name: str) -> None:
    """Save a screenshot under $BACKROOM_SCREENSHOTS when set (docs/screenshots for the README)."""
    folder = os.environ.get("BACKROOM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def order_number(page: Page) -> str:
    return page.url.rstrip("/").rsplit("/", 1)[-1]
