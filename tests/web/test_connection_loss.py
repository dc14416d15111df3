"""A screen that loses its database connection while it reads shows what to do."""

from django.db import InterfaceError


def test_lost_connection_page_on_read(owner_client, monkeypatch):
    from backroom.web.views import catalog

    def connection_gone(*args, **kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(catalog, "item_search", connection_gone)

    response = owner_client.get("/items/?q=card")

    assert response.status_code == 503
    page = response.content.decode()
    assert "Database connection lost" in page
    assert "Reload the page and check" in page
    assert "Idempotency" not in page
