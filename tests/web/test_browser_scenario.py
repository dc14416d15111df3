"""The help article's back-order flow in Chromium, through the screens only.

Vendor V; customer C; item A "birthday card", on hand 10, price 4.00; item B
"blue scarf", on hand 0, price 30.00, vendor V, cost 15.00; no tax.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from .browser_steps import (
    choose_customer,
    line_cell,
    order_number,
    scan,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser


def create_vendor(page: Page) -> None:
    page.goto("/vendors/")
    page.get_by_label("Code").fill("V")
    page.get_by_label("Name").fill("Vendor V")
    page.get_by_role("button", name="Create vendor").click()
    expect(page.get_by_role("heading", name="V · Vendor V")).to_be_visible()


def create_item(page: Page, sku: str, description: str, price: str, cost: str) -> None:
    page.goto("/items/")
    page.get_by_label("SKU", exact=True).fill(sku)
    page.get_by_label("Description").fill(description)
    page.get_by_label("Price").fill(price)
    page.get_by_label("Cost", exact=True).fill(cost)
    page.get_by_label("Vendor", exact=True).select_option("V")
    page.get_by_label("Taxable").uncheck()
    page.get_by_role("button", name="Create item").click()
    expect(page.get_by_role("heading", name=f"{sku} · {description}")).to_be_visible()


def adjust_stock(page: Page, sku: str, units: str) -> None:
    page.goto(f"/items/{sku}/")
    page.get_by_label("Units (+/−)").fill(units)
    page.get_by_label("Reason").fill("Opening stock")
    page.get_by_role("button", name="Adjust stock").click()
    expect(page.locator('[data-bucket="on_hand"]')).to_have_text(units)


def create_customer(page: Page) -> None:
    page.goto("/customers/")
    page.get_by_label("Name", exact=True).fill("Customer C")
    page.get_by_label("E-mail", exact=True).fill("c@example.com")
    page.get_by_role("button", name="Add customer").click()
    expect(page.get_by_role("heading", name="Customer C")).to_be_visible()


def test_article_scenario_in_browser(browser_page: Page):
    page = browser_page
    page.goto("/")
    screenshot(page, "sign-in")
    sign_in(page, "olive")
    create_vendor(page)
    create_item(page, "A", "birthday card", "4.00", "1.50")
    create_item(page, "B", "blue scarf", "30.00", "15.00")
    adjust_stock(page, "A", "10")
    create_customer(page)

    # Step 1: a sales order for C with 1 × A and 1 × B, paid 34.00 in cash.
    page.goto("/sell/")
    choose_customer(page, "Customer C")
    scan(page, "A")
    scan(page, "B")
    expect(page.locator("#total")).to_have_text("34.00")
    expect(page.locator("#lines tr[data-line]").nth(1).locator(".plan-outcome")).to_have_text(
        "order 1")
    screenshot(page, "sales-screen")
    page.keyboard.press("F9")
    expect(page.locator("#proposed-deposit")).to_have_text("8.50")
    amount = page.get_by_label("Amount")
    expect(amount).to_have_value("8.50")
    amount.fill("34.00")
    screenshot(page, "payment-panel")
    page.keyboard.press("F9")

    expect(page.locator("#order-status")).to_have_text("Waiting · 1 of 2 ready")
    expect(page.locator("#order-total")).to_have_text("34.00")
    expect(page.locator("#order-paid")).to_have_text("34.00")
    expect(page.locator("#order-balance")).to_have_text("0.00")
    assert line_cell(page, "A", "ready") == "1"
    assert line_cell(page, "B", "bo") == "1"
    number = order_number(page)
    screenshot(page, "order-page")

    # The order is in the Waiting orders list; Enter on its row opens it.
    page.get_by_role("link", name="Order status").click()
    page.get_by_role("link", name="Waiting orders").click()
    row = page.locator(f'tr[data-href="/orders/{number}/"]')
    expect(row).to_contain_text("Customer C")
    screenshot(page, "waiting-orders")
    row.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/orders/{number}/$"))

    # Step 2: hand over A from the line's Operations.
    line_a = page.locator('#order-lines tr[data-sku="A"]')
    line_a.get_by_text("Operations").click()
    line_a.locator("form", has_text="Deliver").get_by_role("button", name="Deliver").click()
    expect(page.get_by_role("status")).to_contain_text("Delivered 1 unit")
    assert line_cell(page, "A", "delivered") == "1"
    expect(page.locator("#order-status")).to_have_text("Waiting")

    # Step 3: a purchase order for V with "Include purchase requests for this vendor".
    page.get_by_role("link", name="Purchasing").click()
    vendor = page.locator("#vendor-V")
    expect(vendor).to_contain_text("1 unit, 1 item, 1 customer waiting")
    screenshot(page, "purchasing")
    vendor.get_by_role("link", name="Create purchase order").click()
    expect(page.get_by_label("Include purchase requests for this vendor")).to_be_checked()
    page.get_by_role("button", name="Create purchase order").click()
    po_line = page.locator('#po-lines tr[data-sku="B"]')
    expect(po_line.locator('[data-col="qty"]')).to_have_text("1")
    expect(po_line.locator('[data-col="covers"]')).to_have_text(
        f"Customer C, order #{number} (1)")
    screenshot(page, "purchase-order")

    # Step 4: submit, then receive B × 1 with the scanner.
    page.keyboard.press("F9")
    expect(page.locator("#po-status")).to_have_text("Submitted")
    page.get_by_role("link", name="Receiving").click()
    page.get_by_role("link", name="Receive").first.click()
    page.locator("#scan").fill("B")
    page.locator("#scan").press("Enter")
    expect(page.get_by_label("Units of B received")).to_have_value("1")
    screenshot(page, "receiving")
    page.keyboard.press("F9")
    notice = page.locator(".notice-row")
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text(f"1 × blue scarf for Customer C, order #{number}")
    expect(notice).to_contain_text("Ready")
    expect(notice).to_contain_text("customer notified")
    screenshot(page, "receiving-notices")

    notice.get_by_role("link", name="Pick-up label").click()
    expect(page.locator(".label-sheet")).to_contain_text("1 × blue scarf")
    screenshot(page, "pick-up-label")
    page.goto(f"/orders/{number}/")
    expect(page.locator("#order-status")).to_contain_text("Ready · notified on")
    assert line_cell(page, "B", "ready") == "1"

    # Step 5: hand over B: nothing is due, the order is delivered.
    expect(page.locator("#amount-due")).to_have_text("0.00")
    page.keyboard.press("F9")
    expect(page.locator("#order-status")).to_have_text("Delivered")
    expect(page.locator("#order-balance")).to_have_text("0.00")
    expect(page.locator("#timeline")).to_contain_text("Customer notified")

    page.goto("/items/B/")
    expect(page.locator('[data-bucket="on_hand"]')).to_have_text("0")
    screenshot(page, "item")
