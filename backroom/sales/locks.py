"""Row locks on orders, taken after the item locks and in primary-key order."""

from collections.abc import Iterable

from backroom.core.errors import NotFound
from backroom.sales.models import Order


def lock_orders(order_ids: Iterable[int]) -> dict[int, Order]:
    """Lock these orders (in pk order) and return them freshly read, by id."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    orders = Order.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {order.pk: order for order in orders}


def lock_order(order_id: int) -> Order:
    return lock_orders([order_id])[order_id]


def order_id_of(number: str) -> int:
    """Return the id of the order with this number, or raise NotFound."""
    order_id = Order.objects.filter(number=number).values_list("pk", flat=True).first()
    if order_id is None:
        raise NotFound(f"Order '{number}' not found; check the number.", field="number",
                       number=number)
    return order_id
