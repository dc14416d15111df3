"""Row locks on orders, taken after the item locks and in primary-key order."""

from collections.abc import Iterable

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
