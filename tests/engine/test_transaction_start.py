"""Transactions on PostgreSQL begun by their first statement: the same guarantees as a
BEGIN of its own, one message fewer."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.db import ProgrammingError, connection, transaction

from backroom.catalog.models import Item
from backroom.core import sql

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite begins its transactions in the driver")


@contextmanager
def messages_sent(tmp_path: Path) -> Iterator[list[str]]:
    """Collect the queries the client sends to the server in the block, from libpq's trace."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    path = tmp_path / "trace.txt"
    queries: list[str] = []
    with open(path, "w") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            yield queries
        finally:
            pgconn.untrace()
    for line in path.read_text().splitlines():
        direction, _, kind, *text = line.split("\t")
        if direction == "F" and kind == "Query":
            queries.append(text[0].strip().strip('"'))


def other_connection() -> psycopg.Connection:
    database = connection.settings_dict
    return psycopg.connect(host=database["HOST"], port=database["PORT"] or 5432,
                           user=database["USER"], dbname=database["NAME"], autocommit=True)


def test_begin_goes_with_first_statement(card, tmp_path):
    with messages_sent(tmp_path) as queries, transaction.atomic():
        sql.execute('UPDATE "catalog_item" SET "on_hand" = 3 WHERE "id" = %s', [card.pk])

    assert len(queries) == 2
    assert queries[0].startswith("BEGIN; UPDATE")
    assert queries[1] == "COMMIT"


def test_no_begin_outside_transaction(card, tmp_path):
    with messages_sent(tmp_path) as queries:
        sql.execute('UPDATE "catalog_item" SET "on_hand" = 3 WHERE "id" = %s', [card.pk])

    assert len(queries) == 1
    assert queries[0].startswith("UPDATE")
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_first_statement_rolls_back_with_transaction(card):
    with pytest.raises(RuntimeError), transaction.atomic():
        sql.execute('UPDATE "catalog_item" SET "on_hand" = 3 WHERE "id" = %s', [card.pk])
        Item.objects.create(sku="NEW", description="new item", price="1.00")
        raise RuntimeError("stop")

    card.refresh_from_db()
    assert card.on_hand == 10
    assert not Item.objects.filter(sku="NEW").exists()


def test_first_statement_result_is_its_own(card, scarf):
    with transaction.atomic():
        changed = sql.execute('UPDATE "catalog_item" SET "on_hand" = "on_hand" + 1', [])
    with transaction.atomic():
        rows = sql.fetch_all('SELECT "sku" FROM "catalog_item" ORDER BY "sku"', [])
    with transaction.atomic():
        skus = list(Item.objects.order_by("sku").values_list("sku", flat=True))

    assert changed == 2
    assert rows == [("A",), ("B",)]
    assert skus == ["A", "B"]


def test_lock_of_first_statement_held_until_commit(card):
    with other_connection() as other:
        with transaction.atomic():
            Item.objects.select_for_update().get(pk=card.pk)
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute('SELECT 1 FROM "catalog_item" WHERE "id" = %s FOR UPDATE NOWAIT',
                              [card.pk])

        locked_after = other.execute(
            'SELECT "id" FROM "catalog_item" WHERE "id" = %s FOR UPDATE NOWAIT',
            [card.pk]).fetchall()

    assert locked_after == [(card.pk,)]


def test_savepoint_as_first_statement(card):
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            Item.objects.filter(pk=card.pk).update(on_hand=1)
            raise RuntimeError("stop")
        Item.objects.filter(pk=card.pk).update(reserved=2)

    card.refresh_from_db()
    assert (card.on_hand, card.reserved) == (10, 2)


def test_failed_first_statement_rolls_back(card):
    with pytest.raises(ProgrammingError, match="no_such_table"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM no_such_table")

    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert Item.objects.get(pk=card.pk).on_hand == 10
