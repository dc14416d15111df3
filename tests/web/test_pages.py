"""Every screen renders for the roles that use it, with labels on its controls."""

import re

import pytest

from backroom.purchasing.services import purchase_order_create, purchase_order_submit


@pytest.fixture
def submitted_po(owner, waiting_order):
    po = purchase_order_create(user=owner, vendor="V", include_purchase_requests=True)
    return purchase_order_submit(user=owner, number=po.number)


def screen_urls(order, po) -> list[str]:
    return [
        "/", "/sell/", "/sell/?type=special_order", "/orders/", "/orders/?status=ready",
        "/orders/?status=pending&view=lines", "/orders/?status=voided",
        f"/orders/{order.number}/", f"/orders/{order.number}/label/",
        "/customers/", f"/customers/{order.customer_id}/", "/items/", "/items/A/",
        "/vendors/", "/vendors/V/", "/purchasing/", "/purchasing/new/",
        "/purchasing/orders/", f"/purchasing/orders/{po.number}/", "/receiving/",
        f"/receiving/{po.number}/", "/settings/", "/users/", "/users/carl/",
    ]


def unlabelled_controls(html: str) -> list[str]:
    """Inputs and selects with neither an enclosing label nor an aria-label."""
    found = []
    for match in re.finditer(r"<(input|select)\b[^>]*>", html):
        tag = match.group(0)
        if re.search(r'type="(hidden|submit)"', tag) or "aria-label" in tag:
            continue
        before = html[:match.start()]
        if before.rfind("<label") <= before.rfind("</label>"):
            found.append(tag)
    return found


def test_screens_render_for_owner(owner_client, clerk, submitted_po, waiting_order):
    for url in screen_urls(waiting_order, submitted_po):
        response = owner_client.get(url)
        assert response.status_code == 200, url
        assert unlabelled_controls(response.content.decode()) == [], url


def test_menu_follows_role(owner_client, clerk_client):
    owner_menu = owner_client.get("/").content.decode()
    clerk_menu = clerk_client.get("/").content.decode()
    assert "Users" in owner_menu
    assert "Purchasing" in owner_menu
    assert "Users" not in clerk_menu
    assert "Purchasing" not in clerk_menu
    assert "Receiving" in clerk_menu


def test_clerk_cannot_open_settings(clerk_client):
    assert clerk_client.get("/settings/").status_code == 403
    assert clerk_client.get("/users/").status_code == 403


def test_screens_need_sign_in(client, db):
    response = client.get("/orders/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_sign_in_with_wrong_password(client, clerk):
    response = client.post("/login/", {"username": "carl", "password": "wrong"})
    assert response.status_code == 200
    assert "Wrong user name or password" in response.content.decode()


def test_unknown_order_is_404(owner_client):
    assert owner_client.get("/orders/999999/").status_code == 404
