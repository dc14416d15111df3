"""Statements run through backroom.core.sql return what the ORM returns."""

from decimal import Decimal

from backroom.catalog.models import Item
from backroom.core.sql import (
    execute,
    field,
    ids_in,
    ids_select,
    ids_value,
    model_rows,
    value_rows,
)
from backroom.sales.models import Order


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
