"""Transactions on PostgreSQL begun by their first statement, and held writes sent with
the next statement or the commit: the same guarantees in fewer messages."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.test.utils import CaptureQueriesContext

from backroom.catalog.models import Item
from backroom.core import sql
from backroom.core.audit import AuditLog
from backroom.core.bulk import update_values
from backroom.core.models import Event

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


def test_held_writes_go_with_commit(card, tmp_path):
    with messages_sent(tmp_path) as queries, transaction.atomic(), sql.writes_together():
        update_values(Item, ["on_hand"], {card.pk: (7,)})
        audit = AuditLog(None)
        audit.add("stock_counted", item=card)
        audit.flush()

    assert len(queries) == 1
    assert queries[0].startswith("BEGIN; WITH")
    assert queries[0].endswith("; COMMIT")
    assert Item.objects.get(pk=card.pk).on_hand == 7
    assert Event.objects.filter(item=card, action="stock_counted").count() == 1


def test_writes_to_one_table_go_in_two_statements(card, scarf, tmp_path):
    with messages_sent(tmp_path) as queries, transaction.atomic(), sql.writes_together():
        update_values(Item, ["on_hand"], {card.pk: (7,)})
        update_values(Item, ["description"], {scarf.pk: ("grey scarf",)})

    assert len(queries) == 1
    assert queries[0].count("UPDATE") == 2
    assert Item.objects.get(pk=card.pk).on_hand == 7
    assert Item.objects.get(pk=scarf.pk).description == "grey scarf"


def test_held_write_goes_with_next_statement(card, tmp_path):
    with messages_sent(tmp_path) as queries, transaction.atomic():
        with sql.writes_together():
            update_values(Item, ["on_hand"], {card.pk: (7,)})
        on_hand = Item.objects.get(pk=card.pk).on_hand

    assert on_hand == 7
    assert len(queries) == 2
    assert queries[0].startswith("BEGIN; UPDATE")
    assert 'SELECT "catalog_item"' in queries[0]
    assert queries[1] == "COMMIT"


def test_held_write_failing_at_commit_rolls_back(card, scarf):
    with pytest.raises(IntegrityError, match="item_on_hand_not_negative"), \
            transaction.atomic():
        Item.objects.filter(pk=scarf.pk).update(description="grey scarf")
        with sql.writes_together():
            update_values(Item, ["on_hand"], {card.pk: (-1,)})

    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert Item.objects.get(pk=card.pk).on_hand == 10
    assert Item.objects.get(pk=scarf.pk).description == "blue scarf"


def test_rollback_drops_held_writes(card, tmp_path):
    with pytest.raises(RuntimeError), transaction.atomic():
        with sql.writes_together():
            update_values(Item, ["on_hand"], {card.pk: (7,)})
        raise RuntimeError("stop")
    with messages_sent(tmp_path) as queries, transaction.atomic():
        on_hand = Item.objects.get(pk=card.pk).on_hand

    assert on_hand == 10
    assert not any("UPDATE" in query for query in queries)


def test_savepoint_rollback_drops_held_writes(card, scarf):
    with transaction.atomic():
        Item.objects.filter(pk=scarf.pk).update(description="grey scarf")
        with pytest.raises(RuntimeError), transaction.atomic():
            with sql.writes_together():
                update_values(Item, ["on_hand"], {card.pk: (7,)})
            raise RuntimeError("stop")
        with sql.writes_together():
            update_values(Item, ["reserved"], {card.pk: (1,)})

    card.refresh_from_db()
    assert (card.on_hand, card.reserved) == (10, 1)
    assert Item.objects.get(pk=scarf.pk).description == "grey scarf"


def test_recorded_statements_go_one_by_one(card, tmp_path):
    with CaptureQueriesContext(connection) as recorded, messages_sent(tmp_path) as queries, \
            transaction.atomic(), sql.writes_together():
        update_values(Item, ["on_hand"], {card.pk: (7,)})

    assert any('UPDATE "catalog_item"' in query["sql"] for query in recorded.captured_queries)
    assert len(queries) == 2
    assert queries[0].startswith("BEGIN; UPDATE")
    assert queries[1] == "COMMIT"


def test_iterator_as_first_statement_inside_transaction(card, scarf):
    with transaction.atomic():
        skus = [item.sku for item in Item.objects.order_by("sku").iterator(chunk_size=1)]
        status = connection.connection.info.transaction_status

    assert skus == ["A", "B"]
    assert status == psycopg.pq.TransactionStatus.INTRANS


def test_locking_iterator_keeps_its_locks(card, scarf):
    with other_connection() as other, transaction.atomic():
        locked = [item.pk for item in
                  Item.objects.select_for_update().order_by("pk").iterator(chunk_size=10)]
        with pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute('SELECT 1 FROM "catalog_item" WHERE "id" = %s FOR UPDATE NOWAIT',
                          [card.pk])

    assert locked == [card.pk, scarf.pk]


def test_isolation_level_of_connection_applies(card):
    connection.ensure_connection()
    connection.connection.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            level = cursor.fetchone()[0]
    finally:
        connection.connection.isolation_level = None

    assert level == "serializable"


def test_failing_held_write_rolled_back_to_savepoint(card, scarf):
    with transaction.atomic():
        Item.objects.filter(pk=scarf.pk).update(description="grey scarf")
        with pytest.raises(RuntimeError), transaction.atomic():
            with sql.writes_together():
                update_values(Item, ["on_hand"], {card.pk: (-1,)})
            raise RuntimeError("stop")
        Item.objects.filter(pk=card.pk).update(reserved=1)

    card.refresh_from_db()
    assert (card.on_hand, card.reserved) == (10, 1)
    assert Item.objects.get(pk=scarf.pk).description == "grey scarf"
