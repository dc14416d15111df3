"""Counter situations in Chromium: deposits, manager approval, shared receiving, bad input.

Each test seeds its own vendor, items and customers through the services, so
the tests of this module share one server without sharing stock.
"""

import json

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

SEED = """
import json
from decimal import Decimal
from backroom.accounts.services import user_get
from backroom.catalog.services import ItemInput, item_adjust_stock, item_create, vendor_create
from backroom.customers.services import customer_create

owner = user_get("olive")
vendor = vendor_create(user=owner, code="{vendor}", name="Vendor {vendor}")
item_create(user=owner, data=ItemInput(sku="{card}", description="birthday card",
            price=Decimal("4.00"), cost=Decimal("1.50"), vendor="{vendor}", taxable=False))
item_create(user=owner, data=ItemInput(sku="{scarf}", description="blue scarf",
            price=Decimal("30.00"), cost=Decimal("15.00"), vendor="{vendor}", taxable=False))
item_adjust_stock(user=owner, sku="{card}", quantity=10, reason="Opening stock")
names = {customers}
ids = [customer_create(name=name, email=name.replace(" ", ".") + "@example.com").pk
       for name in names]
print(json.dumps(ids))
"""

RECEIVE_ALL = """
from backroom.accounts.services import user_get
from backroom.purchasing.services import (
    ReceiveLineInput, purchase_order_create, purchase_order_receive, purchase_order_submit)

owner = user_get("olive")
po = purchase_order_create(user=owner, vendor="{vendor}", include_purchase_requests=True)
purchase_order_submit(user=owner, number=po.number)
{receive}
print(po.number)
"""


def seed(server, suffix: str, customers: list[str]) -> list[int]:
    """Create vendor V<suffix>, items A<suffix> (10 in stock) and B<suffix> (none), customers."""
    code = SEED.format(vendor=f"V{suffix}", card=f"A{suffix}", scarf=f"B{suffix}",
                       customers=repr(customers))
    return json.loads(server.python(code))


def purchase_order_for(server, suffix: str, receive: bool) -> str:
    """Order every request of vendor V<suffix>, submit, and receive it all when asked."""
    line = ("purchase_order_receive(user=owner, number=po.number, lines=[ReceiveLineInput("
            "line_id=line.pk, quantity=line.quantity) for line in po.lines.all()])")
    code = RECEIVE_ALL.format(vendor=f"V{suffix}", receive=line if receive else "")
    return server.python(code).strip()


def sell(page: Page, customer: str, skus: list[str], amount: str | None) -> str:
    """Ring up a sales order and save it; None keeps the proposed deposit."""
    page.goto("/sell/")
    choose_customer(page, customer)
    for sku in skus:
        scan(page, sku)
    page.keyboard.press("F9")
    expect(page.locator("#payment-panel")).to_be_visible()
    if amount is not None:
        page.get_by_label("Amount").fill(amount)
    page.keyboard.press("F9")
    expect(page.locator("#order-status")).to_be_visible()
    return order_number(page)


def test_deposit_balance_collected_at_deliver(browser_page: Page, backroom_server):
    page = browser_page
    seed(backroom_server, "2", ["Customer D"])
    sign_in(page, "carl")

    number = sell(page, "Customer D", ["A2", "B2"], amount=None)
    expect(page.locator("#order-paid")).to_have_text("8.50")
    expect(page.locator("#order-balance")).to_have_text("25.50")

    line_a = page.locator('#order-lines tr[data-sku="A2"]')
    line_a.get_by_text("Operations").click()
    line_a.locator("form", has_text="Deliver").get_by_role("button", name="Deliver").click()
    assert line_cell(page, "A2", "delivered") == "1"

    purchase_order_for(backroom_server, "2", receive=True)
    page.goto(f"/orders/{number}/")
    expect(page.locator("#order-status")).to_contain_text("Ready")
    expect(page.locator("#amount-due")).to_have_text("25.50")
    expect(page.locator("#deliver-form").get_by_label("Collect")).to_have_value("25.50")
    page.keyboard.press("F9")
    expect(page.locator("#order-status")).to_have_text("Delivered")
    expect(page.locator("#order-paid")).to_have_text("34.00")
    expect(page.locator("#order-balance")).to_have_text("0.00")


def test_zero_deposit_needs_manager_approval(browser_page: Page, backroom_server):
    page = browser_page
    seed(backroom_server, "3", ["Customer Z"])
    sign_in(page, "carl")
    page.goto("/sell/")
    choose_customer(page, "Customer Z")
    scan(page, "A3")
    page.keyboard.press("F9")
    expect(page.locator("#payment-panel")).to_be_visible()
    page.get_by_label("Amount").fill("")
    page.keyboard.press("F9")

    prompt = page.get_by_role("alertdialog")
    expect(prompt).to_contain_text("Manager approval needed")
    expect(prompt).to_contain_text("The minimum deposit is 1.00")
    screenshot(page, "manager-approval")

    prompt.get_by_label("Manager user name").fill("maria")
    prompt.get_by_label("Manager password").fill("not-her-password")
    prompt.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("Wrong user name or password")

    prompt = page.get_by_role("alertdialog")
    prompt.get_by_label("Manager user name").fill("carl")
    prompt.get_by_label("Manager password").fill("counter-Pass-2026")
    prompt.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("alertdialog")).to_contain_text(
        "carl may not take less than the store's minimum deposit")

    prompt = page.get_by_role("alertdialog")
    prompt.get_by_label("Manager user name").fill("maria")
    prompt.get_by_label("Manager password").fill("counter-Pass-2026")
    prompt.get_by_role("button", name="Approve").click()
    expect(page.locator("#order-status")).to_contain_text("Ready")
    expect(page.locator("#order-paid")).to_have_text("0.00")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Approved by")
    expect(timeline).to_contain_text("Approver maria")
    expect(timeline).to_contain_text("Requested by carl")


def test_receiving_shared_among_three_customers(browser_page: Page, backroom_server):
    page = browser_page
    customers = ["Early Eve", "Middle Max", "Late Lou"]
    seed(backroom_server, "4", customers)
    sign_in(page, "olive")
    numbers = [sell(page, name, ["B4"], amount="30.00") for name in customers]
    po_number = purchase_order_for(backroom_server, "4", receive=False)

    sign_in(page, "carl")
    page.goto(f"/receiving/{po_number}/")
    expect(page.locator("#receive-lines")).to_contain_text("Early Eve (1)")
    page.get_by_label("Units of B4 received").fill("2")
    page.get_by_role("button", name="Save").click()
    notices = page.locator(".notice-row")
    expect(notices).to_have_count(2)
    expect(notices.nth(0)).to_contain_text(f"1 × blue scarf for Early Eve, order #{numbers[0]}")
    expect(notices.nth(1)).to_contain_text(f"1 × blue scarf for Middle Max, order #{numbers[1]}")

    page.goto(f"/receiving/{po_number}/")
    page.get_by_label("Units of B4 received").fill("1")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice-row")).to_have_count(1)
    expect(page.locator(".notice-row")).to_contain_text(
        f"1 × blue scarf for Late Lou, order #{numbers[2]}")

    page.goto("/orders/?status=ready&item=B4")
    for number in numbers:
        row = page.locator(f'tr[data-href="/orders/{number}/"]')
        expect(row).to_contain_text("notified")
        expect(row).not_to_contain_text("not notified")
    screenshot(page, "ready-orders")


def field_error(page: Page, name: str):
    """The error shown next to the input called `name`."""
    return page.locator(f'[name="{name}"]').locator("xpath=ancestor::*[self::label or self::td][1]")


def test_bad_input_shows_errors_and_keeps_values(browser_page: Page, backroom_server):
    page = browser_page
    seed(backroom_server, "5", ["Customer F"])
    sign_in(page, "olive")

    page.goto("/sell/")
    page.locator("#scan").fill("no-such-thing")
    page.locator("#scan").press("Enter")
    expect(page.locator("#scan-error")).to_have_text(
        "No item has the SKU, barcode or description 'no-such-thing'.")
    scan(page, "A5")
    quantity = page.get_by_label("Quantity of birthday card")
    quantity.fill("two")
    page.keyboard.press("F9")
    expect(field_error(page, "lines-0-quantity")).to_contain_text("'two' is not a whole number.")
    expect(page.get_by_label("Quantity of birthday card")).to_have_value("two")
    page.get_by_label("Quantity of birthday card").fill("1")
    page.keyboard.press("F9")
    expect(page.locator("#customer-error")).to_contain_text("needs a named customer")
    expect(page.locator("#payment-panel")).to_have_count(0)

    page.goto("/items/")
    page.get_by_label("Description").fill("gift wrap")
    page.get_by_label("Price").fill("1.2.3")
    page.get_by_role("button", name="Create item").click()
    expect(field_error(page, "price")).to_contain_text("'1.2.3' is not an amount")
    expect(page.get_by_label("Description")).to_have_value("gift wrap")

    page.goto("/items/A5/")
    page.get_by_label("Units (+/−)").fill("3")
    page.get_by_role("button", name="Adjust stock").click()
    expect(field_error(page, "reason")).to_contain_text("Give a reason for the adjustment.")
    expect(page.get_by_label("Units (+/−)")).to_have_value("3")
    expect(page.locator('[data-bucket="on_hand"]')).to_have_text("10")

    page.goto("/customers/")
    page.get_by_label("Name", exact=True).fill("Customer G")
    page.get_by_label("E-mail", exact=True).fill("not-an-address")
    page.get_by_role("button", name="Add customer").click()
    expect(field_error(page, "email")).to_contain_text("'not-an-address' is not a valid e-mail")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Customer G")
    screenshot(page, "customers")

    page.goto("/vendors/")
    page.get_by_label("Code").fill("V5")
    page.get_by_label("Name").fill("Again")
    page.get_by_role("button", name="Create vendor").click()
    expect(field_error(page, "code")).to_contain_text("Vendor 'V5' already exists")

    page.goto("/purchasing/new/?vendor=V5")
    page.get_by_role("button", name="Create purchase order").click()
    page.get_by_label("SKU").fill("NOPE")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add line").click()
    expect(field_error(page, "sku")).to_contain_text("Item 'NOPE' not found")
    expect(page.get_by_label("Quantity")).to_have_value("2")
    page.get_by_label("SKU").fill("B5")
    page.get_by_role("button", name="Add line").click()
    expect(page.locator('#po-lines tr[data-sku="B5"]')).to_be_visible()
    page.keyboard.press("F9")
    expect(page.locator("#po-status")).to_have_text("Submitted")
    page.get_by_role("link", name="Receive").click()
    received = page.get_by_label("Units of B5 received")
    received.fill("5")
    input_name = received.get_attribute("name") or ""
    page.get_by_role("button", name="Save").click()
    expect(field_error(page, input_name)).to_contain_text("5 is more than the 2")
    expect(page.get_by_label("Units of B5 received")).to_have_value("5")

    page.goto("/settings/")
    page.get_by_label("Minimum deposit (%)").fill("150")
    page.get_by_role("button", name="Save").click()
    expect(field_error(page, "minimum_deposit_percent")).to_contain_text("150 is out of range")
    screenshot(page, "settings")
    page.goto("/users/")
    screenshot(page, "users")


def test_screens_fit_a_tablet(chromium, backroom_server):
    context = chromium.new_context(viewport={"width": 768, "height": 1024},
                                   base_url=backroom_server.url)
    page = context.new_page()
    seed(backroom_server, "6", ["Customer T"])
    sign_in(page, "carl")
    number = sell(page, "Customer T", ["A6", "B6"], amount="34.00")
    for url in ["/sell/", f"/orders/{number}/", "/orders/?status=waiting&view=lines",
                "/receiving/", "/customers/"]:
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, url
    page.goto(f"/orders/{number}/")
    screenshot(page, "order-page-tablet")
    context.close()
