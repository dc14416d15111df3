"""Statements run through backroom.core.sql return what the ORM returns."""

import datetime
from decimal import Decimal

import pytest
from django.db import DataError, IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from backroom.catalog.models import Item
from backroom.core.sql import (
    _field_converters,
    database,
    execute,
    field,
    ids_in,
    ids_select,
    ids_value,
    model_rows,
    model_rows_with_children,
    texts_in,
    texts_value,
    value_rows,
)
from backroom.sales.models import Order, OrderLine


def _concrete_values(row) -> list:
    return [(name, getattr(row, name), type(getattr(row, name)))
            for name in (f.attname for f in type(row)._meta.concrete_fields)]


def test_model_rows_match_orm_values(card, scarf, waiting_order):
    Item.objects.filter(pk=card.pk).update(price=Decimal("4.05"), cost=Decimal("1234567.89"))

    rows = model_rows(Item, ids_in('"id"'), [ids_value([scarf.pk, card.pk])])
    orders = model_rows(Order, '"id" = %s', [waiting_order.pk], lock=True)

    assert [row.pk for row in rows] == sorted([card.pk, scarf.pk])
    for row in rows:
        assert _concrete_values(row) == _concrete_values(Item.objects.get(pk=row.pk))
        assert row._state.adding is False
    assert _concrete_values(orders[0]) == _concrete_values(Order.objects.get(pk=waiting_order.pk))
    assert orders[0].finalized_at is not None


def test_rows_with_children_match_orm(waiting_order):
    [(order, lines)] = model_rows_with_children(
        Order, OrderLine, "order_id", '"sales_order"."id" = %s', [waiting_order.pk],
        child_order_by='"sales_orderline"."position"', lock=True)

    assert _concrete_values(order) == _concrete_values(Order.objects.get(pk=waiting_order.pk))
    expected = list(OrderLine.objects.filter(order=waiting_order).order_by("position"))
    assert [line.pk for line in lines] == [line.pk for line in expected]
    for line, orm_line in zip(lines, expected, strict=True):
        assert _concrete_values(line) == _concrete_values(orm_line)
        assert line._state.adding is False


def test_rows_with_children_keep_parent_without_children(waiting_order):
    found = model_rows_with_children(
        Order, OrderLine, "order_id", '"sales_order"."id" = %s', [-1, waiting_order.pk],
        child_on='"sales_orderline"."id" = %s')
    missing = model_rows_with_children(
        Order, OrderLine, "order_id", '"sales_order"."number" = %s', ["no such order"])

    assert [(order.pk, lines) for order, lines in found] == [(waiting_order.pk, [])]
    assert missing == []


def test_model_rows_empty_ids_match_nothing(card):
    assert model_rows(Item, ids_in('"id"'), [ids_value([])]) == []


def test_value_rows_convert_named_columns(card):
    Item.objects.filter(pk=card.pk).update(price=Decimal("7.10"))

    rows = value_rows('SELECT "id", "price", "taxable" FROM "catalog_item" WHERE "id" = %s',
                      [card.pk], [None, field(Item, "price"), field(Item, "taxable")])

    assert rows == [(card.pk, Decimal("7.10"), False)]
    assert type(rows[0][1]) is Decimal
    assert rows[0][2] is False


def test_execute_returns_changed_row_count(card, scarf):
    changed = execute('UPDATE "catalog_item" SET "on_hand" = "on_hand" + 1 WHERE '
                      + ids_in('"id"'), [ids_value([card.pk, scarf.pk])])

    assert changed == 2
    assert Item.objects.get(pk=card.pk).on_hand == 11


def test_model_rows_instances_save_and_relate(card, vendor):
    row = model_rows(Item, '"id" = %s', [card.pk])[0]

    assert row == Item.objects.get(pk=card.pk)
    assert row._state.db == connection.alias
    assert row.vendor == vendor
    row.on_hand = 3
    row.save(update_fields=["on_hand"])
    assert Item.objects.count() == 1
    assert Item.objects.get(pk=card.pk).on_hand == 3


def test_percent_signs_kept_verbatim(card):
    rows = value_rows("SELECT '100%%', %s, \"sku\" FROM \"catalog_item\" WHERE \"sku\" = %s",
                      ["a %s b", card.sku])

    assert rows == [("100%", "a %s b", card.sku)]


def test_driver_errors_raised_as_django_errors(card):
    with pytest.raises(IntegrityError), transaction.atomic():
        execute('UPDATE "catalog_item" SET "sku" = NULL WHERE "id" = %s', [card.pk])


def test_broken_transaction_runs_no_statement(card):
    with transaction.atomic():
        with pytest.raises(IntegrityError), transaction.atomic(savepoint=False):
            execute('UPDATE "catalog_item" SET "sku" = NULL WHERE "id" = %s', [card.pk])
        with pytest.raises(TransactionManagementError):
            value_rows('SELECT "id" FROM "catalog_item"', [])
        with pytest.raises(TransactionManagementError):
            execute('UPDATE "catalog_item" SET "on_hand" = 1', [])


def test_query_capture_records_statements(card):
    with CaptureQueriesContext(connection) as queries:
        model_rows(Item, '"id" = %s', [card.pk])
        execute('UPDATE "catalog_item" SET "on_hand" = 2 WHERE "id" = %s', [card.pk])

    assert len(queries) == 2
    assert "catalog_item" in queries[0]["sql"]
    assert queries[1]["sql"].startswith('UPDATE "catalog_item"')


@pytest.mark.django_db(transaction=True)
def test_closed_connection_reopened(vendor):
    item = Item.objects.create(sku="LAMP-1", description="Lamp", vendor=vendor,
                               price=Decimal("9.00"), cost=Decimal("4.00"))
    connection.close()

    assert [row.pk for row in model_rows(Item, '"id" = %s', [item.pk])] == [item.pk]


ODD_SKUS = ["it's", 'say "hi"', "50%", "%", "_", "a_b", "back\\slash", "a,b", "[x]", "{y}",
            "  padded  ", "Ümlaut", "日本", "🧣", "007", "1.50", "NULL"]


def test_texts_in_matches_orm_in(card):
    for sku in ODD_SKUS:
        Item.objects.create(sku=sku, description=f"item {sku}", price=Decimal("1.00"))
    cases = [
        [],
        [*ODD_SKUS, card.sku],
        ["it's", "50%", "日本"],
        ["%"],
        ["_"],
        ["a"],
        ["ümlaut", "umlaut", "padded", " padded  "],
        ["007", "7", "1.5"],
        ["missing", "it''s", "%%"],
        ["🧣", "🧣", card.sku],
    ]

    for skus in cases:
        found = model_rows(Item, texts_in('"sku"'), [texts_value(skus)])
        expected = list(Item.objects.filter(sku__in=skus).order_by("pk"))

        assert [item.pk for item in found] == [item.pk for item in expected], skus


def test_texts_in_nul_as_orm(card):
    skus = [card.sku, "a\x00b"]

    if connection.vendor == "postgresql":
        with pytest.raises(DataError), transaction.atomic():
            list(Item.objects.filter(sku__in=skus))
        with pytest.raises(DataError), transaction.atomic():
            model_rows(Item, texts_in('"sku"'), [texts_value(skus)])
    else:
        found = model_rows(Item, texts_in('"sku"'), [texts_value(skus)])
        assert [item.pk for item in found] == [card.pk]
        assert list(Item.objects.filter(sku__in=skus)) == [card]


def test_ids_select_lists_given_ids(card, scarf):
    rows = value_rows(f'SELECT "id" FROM "catalog_item" WHERE "id" IN ({ids_select()}) '
                      'ORDER BY "id"', [ids_value([scarf.pk, card.pk, 2**63])])
    none = value_rows(f'SELECT "id" FROM "catalog_item" WHERE "id" IN ({ids_select()})',
                      [ids_value([])])
    union = value_rows(f'SELECT "id" FROM "catalog_item" WHERE "id" = %s UNION {ids_select()}',
                       [card.pk, ids_value([card.pk, 77])])

    assert rows == sorted([(card.pk,), (scarf.pk,)])
    assert none == []
    assert sorted(union) == sorted([(card.pk,), (77,)])


def _django_converted(column, value):
    expression = column.get_col(column.model._meta.db_table)
    for function in (connection.ops.get_db_converters(expression)
                     + expression.get_db_converters(connection)):
        value = function(value, expression, connection)
    return value


@pytest.mark.parametrize(("model", "name", "raw_values"), [
    (Item, "price", [None, 0, 4, 4.05, 0.1 + 0.2, -3.335, 99999999.99, 1e-9, 12.345678,
                     4.0, 4.05, 0.0, -0.0]),
    (OrderLine, "tax_rate", [None, 0, 7.125, 19.99999999]),
    (Item, "taxable", [None, 0, 1, True, False]),
    (Order, "finalized_at", [None, "2011-01-04 10:22:00", "2011-01-04 10:22:00.123456",
                             datetime.datetime(2011, 1, 4, 10, 22)]),
])
def test_converters_match_django(db, model, name, raw_values):
    column = field(model, name)
    converters = _field_converters((column,), connection.vendor)
    if not converters:
        pytest.skip(f"the driver returns {name} values as Django uses them on this database")
    ((_, convert),) = converters

    for raw in raw_values:
        expected = _django_converted(column, raw)
        converted = convert(raw)
        assert converted == expected, raw
        assert type(converted) is type(expected), raw
        if isinstance(expected, Decimal):
            assert str(converted) == str(expected), raw
            # A value converted before comes from the converter's store, unchanged.
            assert str(convert(raw)) == str(expected), raw


def test_database_is_thread_connection(db):
    """Each thread gets the wrapper that `connections` gives that thread."""
    import threading

    from django.db import connections

    seen = {}

    def look_up():
        seen["database"] = database()
        seen["connections"] = connections["default"]
        connections.close_all()

    thread = threading.Thread(target=look_up)
    thread.start()
    thread.join(timeout=30)

    assert database() is connections["default"]
    assert seen["database"] is seen["connections"]
    assert seen["database"] is not database()
