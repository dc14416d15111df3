"""Row locks on orders, taken after the item locks and in primary-key order."""

from collections.abc import Iterable

from backroom.core.errors import NotFound
from backroom.core.sql import ids_in, ids_value, model_rows, model_rows_with_children, value_rows
from backroom.sales.models import Order, OrderLine

ORDER_ID_BY_NUMBER = 'SELECT "id" FROM "sales_order" WHERE "number" = %s'


def lock_orders(order_ids: Iterable[int]) -> dict[int, Order]:
    """Lock these orders (in pk order) and return them freshly read, by id."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    orders = model_rows(Order, ids_in('"id"'), [ids_value(ids)], lock=True)
    return {order.pk: order for order in orders}


def lock_order_by_number(number: str) -> Order:
    """Lock the order with this number and return it freshly read, or raise NotFound."""
    orders = model_rows(Order, '"number" = %s', [number], lock=True)
    if not orders:
        raise _order_not_found(number)
    return orders[0]


def lock_order_with_lines(number: str) -> tuple[Order, list[OrderLine]]:
    """Lock the order with this number and return it and its lines in position order, all
    freshly read, or raise NotFound."""
    found = model_rows_with_children(
        Order, OrderLine, "order_id", '"sales_order"."number" = %s', [number],
        child_order_by='"sales_orderline"."position"', lock=True)
    if not found:
        raise _order_not_found(number)
    return found[0]


def order_id_of(number: str) -> int:
    """Return the id of the order with this number, or raise NotFound."""
    found = value_rows(ORDER_ID_BY_NUMBER, [number], [None])
    if not found:
        raise _order_not_found(number)
    return found[0][0]


def _order_not_found(number: str) -> NotFound:
    return NotFound(f"Order '{number}' not found; check the number.", field="number",
                    number=number)
