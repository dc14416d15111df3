"""A lost database connection gets its own error, apart from a conflict: the change may
have been saved."""

import sqlite3

import pytest
from django.db import (
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
)

from backroom.core.errors import database_error_as
from backroom.sales.models import Order

from .helpers import assert_problem, order_body, pay


def _wrapped(error_class, cause):
    """Return a Django database error raised from the driver's `cause`, as Django raises it."""
    try:
        try:
            raise cause
        except Exception as driver_error:
            raise error_class(*driver_error.args) from driver_error
    except error_class as error:
        return error


def test_database_errors_mapped_by_kind():
    locked = _wrapped(OperationalError, sqlite3.OperationalError("database is locked"))
    closed = _wrapped(InterfaceError, sqlite3.InterfaceError("connection already closed"))
    broken_rule = _wrapped(IntegrityError, sqlite3.IntegrityError("CHECK constraint failed"))
    too_long = DataError("value too long for type character varying(40)")

    assert database_error_as(locked).code == "conflict"
    assert database_error_as(closed).code == "database_unavailable"
    assert database_error_as(closed).status == 503
    assert database_error_as(broken_rule).code == "conflict"
    assert "rule" in database_error_as(broken_rule).detail
    assert database_error_as(too_long).code == "validation_error"


@pytest.mark.django_db(transaction=True)
def test_ended_connection_returns_503(api, customer, card):
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL connections can be ended by the server")
    import psycopg

    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432,
                         user=settings["USER"], dbname=settings["NAME"],
                         autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])

    response = api.post("/orders", order_body(customer, [("A", 1)], [pay("4.00")]))

    body = assert_problem(response, 503, "database_unavailable")
    assert "may or may not have been saved" in body["detail"]
    connection.close()
    assert Order.objects.count() == 0


def test_closed_connection_returns_503(api, customer, card, monkeypatch):
    from backroom.sales import services

    def connection_gone(**kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(services, "order_create", connection_gone)

    response = api.post("/orders", order_body(customer, [("A", 1)], [pay("4.00")]))

    assert_problem(response, 503, "database_unavailable")


def test_lost_connection_read_nothing_changed(api, monkeypatch):
    from backroom.sales import selectors

    def connection_gone(*args, **kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(selectors, "order_get", connection_gone)

    response = api.get("/orders/1001")

    body = assert_problem(response, 503, "database_unavailable")
    assert "nothing was changed" in body["detail"]


def test_logged_address_escapes_line_breaks(api, customer, card, monkeypatch, caplog):
    from backroom.sales import payments

    def deadlock(**kwargs):
        raise OperationalError("deadlock detected")

    monkeypatch.setattr(payments, "order_add_payment", deadlock)

    response = api.post("/orders/1001%0A2026-12-05 ERROR forged/payments", pay("1.00"))

    assert response.status_code == 409
    logged = [record.getMessage() for record in caplog.records
              if record.name == "backroom.api.problems"]
    assert len(logged) == 1
    assert "\n" not in logged[0]
    assert "\\n2026-12-05 ERROR forged" in logged[0]

