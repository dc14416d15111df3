"""Line money, line status and order status, derived from the buckets.

`order_sync` is the only writer of an order's cached status and totals.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import NamedTuple

from django.utils import timezone

from backroom.core.bulk import update_rows
from backroom.core.errors import ValidationFailed
from backroom.core.money import HUNDRED, MAX_AMOUNT, ZERO, percent_of, round_money
from backroom.core.sql import field, ids_in, ids_value, value_rows
from backroom.sales.models import LineStatus, Order, OrderLine, OrderStatus, Payment, PaymentKind
from backroom.sales.notices import ready_notices_schedule


def line_amounts(unit_price: Decimal, quantity: int, discount_percent: Decimal,
                 taxable: bool, tax_rate: Decimal) -> tuple[Decimal, Decimal]:
    """Return (line total, tax), each rounded once, half up, to the cent."""
    total = round_money(unit_price * quantity * (HUNDRED - discount_percent) / HUNDRED)
    tax = percent_of(total, tax_rate) if taxable else ZERO
    return total, tax


def line_billable(line: OrderLine) -> int:
    return line.quantity - line.cancelled


def line_status(line: OrderLine) -> str:
    if line.pending:
        return LineStatus.PENDING
    if line.back_ordered:
        return LineStatus.WAITING
    if line.ready:
        return LineStatus.READY
    if line.delivered:
        return LineStatus.DELIVERED
    return LineStatus.CANCELLED


class Buckets(NamedTuple):
    """The units of one line that decide its order's status."""

    back_ordered: int
    ready: int
    delivered: int = 0


class LineFigures(NamedTuple):
    """The columns of a line that decide its order's status and totals."""

    back_ordered: int
    ready: int
    delivered: int
    line_total: Decimal
    tax: Decimal


def derive_order_status(lines: Iterable[OrderLine | Buckets | LineFigures], finalized: bool,
                        voided: bool = False) -> str:
    lines = list(lines)
    if not finalized:
        return OrderStatus.CANCELLED if voided else OrderStatus.ON_HOLD
    if any(line.back_ordered for line in lines):
        return OrderStatus.WAITING
    if any(line.ready for line in lines):
        return OrderStatus.READY
    if any(line.delivered for line in lines):
        return OrderStatus.DELIVERED
    return OrderStatus.CANCELLED


def delivered_value(lines: Iterable[OrderLine], extra: dict[int, int] | None = None) -> Decimal:
    """Return the value, tax included, of the units handed over (plus `extra` per line id)."""
    extra = extra or {}
    value = ZERO
    for line in lines:
        billable = line_billable(line)
        units = line.delivered + extra.get(line.pk, 0)
        if billable <= 0 or units <= 0:
            continue
        gross = line.line_total + line.tax
        value += gross if units >= billable else round_money(gross * units / billable)
    return value


def lines_recompute_money(lines: Iterable[OrderLine]) -> list[OrderLine]:
    """Refresh each line's total and tax; return the lines whose figures changed."""
    changed = []
    for line in lines:
        total, tax = line_amounts(line.unit_price, line_billable(line), line.discount_percent,
                                  line.taxable, line.tax_rate)
        if total != line.line_total or tax != line.tax:
            line.line_total, line.tax = total, tax
            changed.append(line)
    return changed


def order_sync(orders: Iterable[Order],
               lines_by_order: dict[int, list[OrderLine]] | None = None, *,
               paid: dict[int, Decimal] | None = None,
               also_save: Sequence[str] = (),
               buckets: Mapping[int, Sequence[Buckets]] | None = None) -> list[Order]:
    """Rewrite status, totals and paid of these (locked) orders from their rows.

    Orders that turn from waiting to ready get their customer's notice
    scheduled, whatever made them ready: goods received, or the units still
    awaited cancelled. The function also returns them.
    Pass `lines_by_order` when the caller has already read the current lines,
    and `paid` (net payments by order id) when it knows every live payment.
    `also_save` names more fields the caller changed, written in the same UPDATE.

    Pass `buckets` instead when the caller has only moved units between
    buckets, which changes no money. It maps each order's id to the saved
    buckets of every line with units back-ordered and of every line the
    caller changed. Then only the status and `ready_at` are rewritten, and
    only on the orders whose status changed.
    """
    orders = list(orders)
    if not orders:
        return []
    if buckets is not None:
        if lines_by_order is not None or paid is not None or also_save:
            raise TypeError("order_sync with buckets rewrites the status alone, so it takes "
                            "no lines_by_order, paid or also_save")
        return _statuses_sync(orders, buckets)
    ids = [order.pk for order in orders]
    figures: Mapping[int, Sequence[OrderLine | LineFigures]] = (
        _line_figures(ids) if lines_by_order is None else lines_by_order)
    if paid is None:
        paid = _paid_by_order(ids)

    became_ready = []
    now = timezone.now()
    for order in orders:
        lines = figures.get(order.pk, [])
        if _status_set(order, lines, now):
            became_ready.append(order)
        order_amounts_set(order, lines)
        order.paid = paid.get(order.pk, ZERO)
    update_rows(Order, orders,
                   ["status", "subtotal", "tax", "total", "paid", "ready_at", *also_save])
    ready_notices_schedule(became_ready)
    return became_ready


def _statuses_sync(orders: list[Order], buckets: Mapping[int, Sequence[Buckets]]
                   ) -> list[Order]:
    """Rewrite the status of orders whose units moved between buckets, as `order_sync` describes."""
    # The given buckets decide the status unless none has units back-ordered
    # or ready. Then delivered units decide it, so read all the order's lines.
    undecided = [order.pk for order in orders
                 if not any(line.back_ordered or line.ready
                            for line in buckets.get(order.pk, ()))]
    if undecided:
        read: dict[int, list[Buckets]] = {order_id: [] for order_id in undecided}
        for order_id, back_ordered, ready, delivered in value_rows(
                _lines_of_orders_sql('"back_ordered", "ready", "delivered"'),
                [ids_value(undecided)], [None, None, None, None]):
            read[order_id].append(Buckets(back_ordered, ready, delivered))
        buckets = {**buckets, **read}

    became_ready = []
    turned_ready = []
    turned_other = []
    now = timezone.now()
    for order in orders:
        before = order.status
        if _status_set(order, buckets.get(order.pk, ()), now):
            became_ready.append(order)
        if order.status == before:
            continue
        if order.status == OrderStatus.READY:
            turned_ready.append(order)
        else:
            turned_other.append(order)
    update_rows(Order, turned_ready, ["status", "ready_at"])
    update_rows(Order, turned_other, ["status"])
    ready_notices_schedule(became_ready)
    return became_ready


def _status_set(order: Order, lines: Iterable[OrderLine | Buckets | LineFigures],
                now: datetime.datetime) -> bool:
    """Derive the order's status from its lines and return whether it turned from waiting
    to ready."""
    before = order.status
    order.status = derive_order_status(lines, order.finalized_at is not None,
                                       order.voided_at is not None)
    if order.status == OrderStatus.READY and before != OrderStatus.READY:
        order.ready_at = now
        return before == OrderStatus.WAITING
    return False


def _line_figures(order_ids: list[int]) -> dict[int, list[LineFigures]]:
    """Read the status and money columns of the orders' lines, without model instances."""
    figures: dict[int, list[LineFigures]] = defaultdict(list)
    for order_id, back_ordered, ready, delivered, line_total, tax in value_rows(
            _lines_of_orders_sql('"back_ordered", "ready", "delivered", "line_total", "tax"'),
            [ids_value(order_ids)],
            [None, None, None, None, field(OrderLine, "line_total"), field(OrderLine, "tax")]):
        figures[order_id].append(LineFigures(back_ordered, ready, delivered, line_total, tax))
    return figures


def _lines_of_orders_sql(columns: str) -> str:
    """Return the SELECT of the order id and `columns` of the lines of the orders whose ids
    are its one `ids_value` parameter."""
    return (f'SELECT "order_id", {columns} FROM "sales_orderline" WHERE '
            + ids_in('"order_id"'))


def order_amounts_set(order: Order, lines: Iterable[OrderLine | LineFigures]) -> None:
    """Set the order's subtotal, tax and total from its lines, in memory only.

    Raises ValidationFailed when the total is beyond the largest amount, which
    each line stays within but several lines together may pass.
    """
    lines = list(lines)
    order.subtotal = sum((line.line_total for line in lines), ZERO)
    order.tax = sum((line.tax for line in lines), ZERO)
    order.total = order.subtotal + order.tax
    if order.total > MAX_AMOUNT:
        raise ValidationFailed(
            f"The order's total would be {order.total}, more than the largest amount, "
            f"{MAX_AMOUNT}; split it into smaller orders.", field="lines",
            total=str(order.total))


def _paid_by_order(order_ids: list[int]) -> dict[int, Decimal]:
    """Return each order's payments less its refunds, voided ones left out."""
    paid: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for order_id, kind, amount in value_rows(
            'SELECT "order_id", "kind", "amount" FROM "sales_payment" WHERE '
            + ids_in('"order_id"') + ' AND "voided_at" IS NULL',
            [ids_value(order_ids)], [None, None, field(Payment, "amount")]):
        paid[order_id] += amount if kind == PaymentKind.PAYMENT else -amount
    return {order_id: round_money(total) for order_id, total in paid.items()}
