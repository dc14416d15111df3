"""Orders and their lines: create, finalize, change, deliver, cancel, void.

Every service runs in one transaction and follows the same steps: load,
lock (items in pk order, then orders), re-read, check, decide, write,
schedule side effects. The decisions themselves live in
`backroom.allocation.decide`.
"""

import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from backroom.accounts.permissions import has_permission, require
from backroom.allocation.decide import LineRequest, decide_lines
from backroom.allocation.services import Offer, stock_offer, stock_offers
from backroom.catalog.locks import lock_items
from backroom.catalog.models import Item, Vendor
from backroom.catalog.selectors import item_get
from backroom.core.audit import AuditLog
from backroom.core.bulk import update_rows
from backroom.core.errors import (
    BalanceDue,
    DepositBelowMinimum,
    InsufficientStock,
    InvalidState,
    NotFound,
    NothingToDeliver,
    ValidationFailed,
    reject_repeated_lines,
)
from backroom.core.inserts import insert_all, new_instance
from backroom.core.models import StoreSettings
from backroom.core.money import MAX_AMOUNT, ZERO, percent_of
from backroom.core.numbers import document_number, placeholder_number
from backroom.core.sql import (
    execute,
    id_fits,
    model_rows,
    texts_in,
    texts_value,
    writes_together,
)
from backroom.customers.models import Customer
from backroom.customers.services import walk_in_customer
from backroom.purchasing.coverage import requests_cover, requests_uncover
from backroom.purchasing.models import PurchaseRequest
from backroom.sales.locks import lock_order_by_number, lock_order_with_lines, order_id_of
from backroom.sales.models import Order, OrderLine, OrderStatus, OrderType
from backroom.sales.payments import PaymentInput, payments_take, refund_issue
from backroom.sales.totals import (
    delivered_value,
    lines_recompute_money,
    order_amounts_set,
    order_sync,
)

logger = logging.getLogger(__name__)

MAX_LINE_QUANTITY = 1_000_000
MAX_PRIORITY = 1000
REFUND_CHOICES = ("original_tender", "store_credit", "none")


@dataclass(frozen=True)
class LineInput:
    quantity: int
    sku: str | None = None
    unit_price: Decimal | None = None
    discount_percent: Decimal | None = None
    take_now: bool = False
    description: str | None = None
    vendor: str | None = None


# ---------------------------------------------------------------- create and finalize


@transaction.atomic
def order_create(*, user, order_type: str, customer_id: int | None, lines: list[LineInput],
                 payments: list[PaymentInput], hold: bool = False) -> Order:
    """Create an order and finalize it, or park it on hold."""
    if order_type not in OrderType.values:
        raise ValidationFailed(
            f"Unknown order type '{order_type}'; use one of {', '.join(OrderType.values)}.",
            field="type")
    if not lines:
        raise ValidationFailed("An order needs at least one line.", field="lines")
    if hold and payments:
        raise ValidationFailed(
            "An order on hold takes no payment; finalize it with the payments.",
            field="payments")
    customer = _customer_for(order_type, customer_id, finalizing=not hold)
    store = StoreSettings.load()

    # Lock the catalog entries first (items before orders, in pk order) so the
    # lines are decided on the counters read here.
    skus = {spec.sku for spec in lines if spec.sku}
    known = {item.sku: item for item in _items_by_sku(skus, lock=not hold)}
    with writes_together():
        order = new_instance(
            Order, number=placeholder_number(), type=order_type, customer=customer,
            created_by=user if user is not None and user.is_authenticated else None)
        insert_all(Order, [order])
        order.number = document_number("", order.pk)
        line_rows = [
            _line_build(user, order, spec, position, store, f"lines[{position - 1}]", known)
            for position, spec in enumerate(lines, start=1)
        ]
        audit = AuditLog(user)
        if hold:
            insert_all(OrderLine, line_rows)
            _created_audit(audit, order, customer, line_rows)
            audit.add("order_held", order=order)
            order_sync([order], {order.pk: line_rows}, paid={}, also_save=["number"])
        else:
            items = {item.pk: item for item in known.values()}
            items.update((line.item.pk, line.item) for line in line_rows)
            _finalize(user, order, line_rows, payments, store, audit, items=items,
                      new_lines=True, created_for=customer)
        audit.flush()
    return order


def _created_audit(audit: AuditLog, order: Order, customer: Customer,
                   lines: list[OrderLine]) -> None:
    audit.add("order_created", order=order, type=order.type, customer=customer.pk,
              lines=[{"sku": line.item.sku, "quantity": line.quantity} for line in lines])


@transaction.atomic
def order_finalize(*, user, number: str, payments: list[PaymentInput]) -> Order:
    """Finalize an order on hold: decide every line, take the payments."""
    order, lines, items = _order_lines_items_locked(number)
    if order.voided_at is not None:
        raise InvalidState(f"Order {order.number} is voided; it cannot be finalized.")
    if order.finalized_at is not None:
        raise InvalidState(f"Order {order.number} is already finalized.")
    _customer_for(order.type, order.customer_id, finalizing=True)
    for line in lines:
        line.item = items[line.item_id]
    audit = AuditLog(user)
    _finalize(user, order, lines, payments, StoreSettings.load(), audit, items=items)
    audit.flush()
    return order


def _finalize(user, order: Order, lines: list[OrderLine], payments: list[PaymentInput],
              store: StoreSettings, audit: AuditLog, *, items: dict[int, Item],
              new_lines: bool = False, created_for: Customer | None = None) -> None:
    """Decide every line of an order against the locked `items`, take the payments and
    save the order as finalized.

    With `new_lines`, the lines are not saved yet: they are inserted once, with
    their decided buckets, and `created_for` (the customer) goes into the
    creation event.
    """
    available = {pk: item.available for pk, item in items.items()}
    decisions, shortages = decide_lines(order.type, [
        LineRequest(item_id=line.item_id, quantity=line.pending,
                    tracked=items[line.item_id].tracked, take_now=line.take_now)
        for line in lines
    ], available)
    if shortages:
        short = shortages[0]
        item = items[short.item_id]
        raise InsufficientStock(
            f"Only {short.available} of {item.sku} '{item.description}' available, "
            f"{short.requested} asked; make this a sales order to back-order the rest.",
            field="lines", sku=item.sku, requested=short.requested, available=short.available)

    changed_items: dict[int, Item] = {}
    for line, decision in zip(lines, decisions, strict=True):
        line.pending = 0
        line.delivered += decision.deliver
        line.ready += decision.reserve
        line.back_ordered += decision.back_order
        item = items[line.item_id]
        if item.tracked and (decision.deliver or decision.reserve):
            item.on_hand -= decision.deliver
            item.reserved += decision.reserve
            changed_items[item.pk] = item
    if new_lines:
        insert_all(OrderLine, lines)
        assert created_for is not None
        _created_audit(audit, order, created_for, lines)
    else:
        update_rows(OrderLine, lines, ["pending", "delivered", "ready", "back_ordered"])
    update_rows(Item, list(changed_items.values()), ["on_hand", "reserved"])
    for line, decision in zip(lines, decisions, strict=True):
        item = items[line.item_id]
        audit.add("line_decided", order=order, item=item, line=line.pk, sku=item.sku,
                  quantity=line.quantity, delivered=decision.deliver, ready=decision.reserve,
                  back_ordered=decision.back_order, on_hand_after=item.on_hand,
                  reserved_after=item.reserved)

    # Lines of an order being finalized have no purchase request yet, so each
    # back-ordered line gets exactly one new request.
    requests = [
        new_instance(PurchaseRequest, item_id=line.item_id,
                     vendor_id=items[line.item_id].vendor_id, quantity=decision.back_order,
                     order_line_id=line.pk, order_id=order.pk, customer_id=order.customer_id)
        for line, decision in zip(lines, decisions, strict=True) if decision.back_order
    ]
    insert_all(PurchaseRequest, requests)
    for request in requests:
        item = items[request.item_id]
        audit.add("request_created", order=order, item=item, line=request.order_line_id,
                  sku=item.sku, quantity=request.quantity, request=request.pk)

    order.finalized_at = timezone.now()
    order_amounts_set(order, lines)
    applied = payments_take(order=order, inputs=payments, balance=order.total, user=user,
                            audit=audit, store=store)
    if order.type == OrderType.SALE:
        if applied < order.total:
            raise BalanceDue(
                f"A sale is paid in full: the total is {order.total} and {applied} was "
                f"tendered; take {order.total - applied} more, or make it a sales order.",
                field="payments", total=str(order.total), paid=str(applied))
    else:
        minimum = percent_of(order.total, store.minimum_deposit_percent)
        if applied < minimum and not has_permission(user, "override_deposit"):
            raise DepositBelowMinimum(
                f"The minimum deposit is {minimum} ({store.minimum_deposit_percent}% of "
                f"{order.total}) and {applied} was given; take at least {minimum}, or have a "
                f"manager approve a smaller deposit.", field="payments",
                minimum=str(minimum), deposit=str(applied))
        if applied < minimum:
            audit.add("deposit_override", order=order, minimum=minimum, deposit=applied)
    # A new order has no payments but these. An order finalized from hold gets its
    # payments summed from the table, in case one was recorded while it waited.
    order_sync([order], {order.pk: lines}, paid={order.pk: applied} if new_lines else None,
               also_save=["number", "finalized_at"])
    audit.add("order_finalized", order=order, status=order.status, total=order.total,
              paid=order.paid)


def _customer_for(order_type: str, customer_id: int | None, *, finalizing: bool) -> Customer:
    if customer_id is None:
        customer = walk_in_customer()
    else:
        found = model_rows(Customer, '"id" = %s', [customer_id]) if id_fits(customer_id) else []
        if not found:
            raise NotFound(f"Customer {customer_id} not found; check the id or create the "
                           "customer first.", field="customer")
        customer = found[0]
    if finalizing and order_type != OrderType.SALE and customer.is_walk_in:
        raise ValidationFailed(
            f"A {OrderType(order_type).label.lower()} needs a named customer to tell when the "
            "goods arrive; choose or add the customer.", field="customer")
    return customer


def _line_build(user, order: Order, spec: LineInput, position: int, store: StoreSettings,
                field: str, known: dict[str, Item] | None = None) -> OrderLine:
    """Build (not save) an order line; `known` contains items already read, by SKU."""
    if not isinstance(spec.quantity, int) or not 1 <= spec.quantity <= MAX_LINE_QUANTITY:
        raise ValidationFailed(
            f"Quantity {spec.quantity} is invalid; give a whole number from 1 to "
            f"{MAX_LINE_QUANTITY}.", field=f"{field}.quantity")
    if spec.sku:
        item = (known or {}).get(spec.sku) or _item_for_line(spec.sku, field)
    else:
        item = _custom_item(order, spec, field)

    unit_price = item.price if spec.unit_price is None else spec.unit_price
    discount = spec.discount_percent or ZERO
    if unit_price < 0:
        raise ValidationFailed(f"Unit price {unit_price} is negative; give 0 or more.",
                               field=f"{field}.unit_price")
    if not ZERO <= discount <= 100:
        raise ValidationFailed(f"Discount {discount}% is out of range; give 0 to 100.",
                               field=f"{field}.discount_percent")
    if spec.sku and (unit_price != item.price or discount):
        require(user, "change_price", f"change the price or discount of {item.sku}")
    if unit_price * spec.quantity > MAX_AMOUNT:
        raise ValidationFailed(
            f"{spec.quantity} x {unit_price} comes to more than the largest amount, "
            f"{MAX_AMOUNT}; split the order.", field=f"{field}.quantity")
    line = new_instance(
        OrderLine, order=order, position=position, item=item,
        description=item.description, quantity=spec.quantity, pending=spec.quantity,
        unit_price=unit_price, discount_percent=discount, taxable=item.taxable,
        tax_rate=store.tax_rate, take_now=bool(spec.take_now))
    lines_recompute_money([line])
    return line


def _items_by_sku(skus: set[str], *, lock: bool) -> list[Item]:
    """Read the items with these SKUs in pk order, locked with `lock`."""
    if not skus:
        return []
    return model_rows(Item, texts_in('"sku"'), [texts_value(sorted(skus))], lock=lock)


def _item_for_line(sku: str, field: str) -> Item:
    try:
        return item_get(sku)
    except NotFound as error:
        error.field = f"{field}.sku"
        raise


def _custom_item(order: Order, spec: LineInput, field: str) -> Item:
    """Create the catalog entry of a custom-order free-text line."""
    if order.type != OrderType.CUSTOM_ORDER:
        raise ValidationFailed("Give the line's SKU; free-text lines are for custom orders.",
                               field=f"{field}.sku")
    description = (spec.description or "").strip()
    if not description:
        raise ValidationFailed("A free-text line needs a description of the piece.",
                               field=f"{field}.description")
    if spec.unit_price is None:
        raise ValidationFailed("A free-text line needs a unit price.",
                               field=f"{field}.unit_price")
    if spec.unit_price < 0:
        raise ValidationFailed(f"Unit price {spec.unit_price} is negative; give 0 or more.",
                               field=f"{field}.unit_price")
    vendor = None
    if spec.vendor:
        vendor = Vendor.objects.filter(code=spec.vendor).first()
        if vendor is None:
            raise NotFound(f"Vendor '{spec.vendor}' not found; check the code.",
                           field=f"{field}.vendor")
    return Item.objects.create(
        sku=f"CUSTOM-{uuid.uuid4().hex[:12].upper()}", description=description,
        price=spec.unit_price, vendor=vendor, is_custom=True, tracked=True)


# ---------------------------------------------------------------- lines


@transaction.atomic
def order_add_line(*, user, number: str, line: LineInput) -> Order:
    """Add a line; on a finalized order it is decided at once like the others."""
    order = _order_locked_for_items(number)
    _require_open(order)
    if order.finalized_at is not None and order.type == OrderType.SALE:
        raise InvalidState(f"Sale {order.number} is finalized; ring up a new sale instead.")
    store = StoreSettings.load()
    position = (order.lines.order_by("-position").values_list("position", flat=True)
                .first() or 0) + 1
    row = _line_build(user, order, line, position, store, "line")
    row.save()
    audit = AuditLog(user)
    audit.add("line_added", order=order, item=row.item, line=row.pk, sku=row.item.sku,
              quantity=row.quantity)
    if order.finalized_at is not None:
        items = lock_items([row.item_id])
        _units_decide(order, row, items[row.item_id], row.pending, audit)
        row.pending = 0
        row.save(update_fields=["pending", "delivered", "ready", "back_ordered"])
    order_sync([order])
    audit.flush()
    return order


def _units_decide(order: Order, line: OrderLine, item: Item, units: int,
                  audit: AuditLog) -> None:
    """Decide `units` new units of a line of a finalized order, and apply the decision."""
    [decision], _ = decide_lines(order.type, [LineRequest(
        item_id=item.pk, quantity=units, tracked=item.tracked, take_now=line.take_now)],
        {item.pk: item.available})
    line.delivered += decision.deliver
    line.ready += decision.reserve
    line.back_ordered += decision.back_order
    if item.tracked:
        item.on_hand -= decision.deliver
        item.reserved += decision.reserve
        Item.objects.filter(pk=item.pk).update(on_hand=item.on_hand, reserved=item.reserved)
    requests_cover(order, line, item, decision.back_order, audit)
    audit.add("line_decided", order=order, item=item, line=line.pk, sku=item.sku,
              quantity=units, delivered=decision.deliver, ready=decision.reserve,
              back_ordered=decision.back_order)


@transaction.atomic
def line_back_order(*, user, number: str, line_id: int, quantity: int) -> Order:
    """"Back order item": move ready units back to back-ordered, freeing their reservation."""
    order, line, item = _line_locked(number, line_id)
    _require_finalized(order)
    if quantity < 1 or quantity > line.ready:
        raise ValidationFailed(
            f"Line {line.pk} has {line.ready} ready; back-order from 1 to {line.ready} units.",
            field="quantity")
    audit = AuditLog(user)
    line.ready -= quantity
    line.back_ordered += quantity
    line.save(update_fields=["ready", "back_ordered"])
    if item.tracked:
        item.reserved -= quantity
        Item.objects.filter(pk=item.pk).update(reserved=item.reserved)
    requests_cover(order, line, item, quantity, audit)
    audit.add("line_back_ordered", order=order, item=item, line=line.pk, quantity=quantity,
              ready_after=line.ready, back_ordered_after=line.back_ordered)
    order_sync([order])
    if item.tracked:
        stock_offer(item, quantity, audit, source="released",
                    exclude_line_ids=frozenset({line.pk}))
    order.refresh_from_db()
    audit.flush()
    return order


@transaction.atomic
def line_change_quantity(*, user, number: str, line_id: int, quantity: int) -> Order:
    """Set a line's quantity (cancelled units not counted): raise or lower it."""
    order, line, item = _line_locked(number, line_id)
    _require_open(order)
    if order.type == OrderType.SALE and order.finalized_at is not None:
        raise InvalidState(f"Sale {order.number} is finalized; its quantities are final.")
    current = line.quantity - line.cancelled
    floor = line.delivered
    if not isinstance(quantity, int) or not max(floor, 1) <= quantity <= MAX_LINE_QUANTITY:
        raise ValidationFailed(
            f"Quantity {quantity} is invalid; give a whole number from {max(floor, 1)} (units "
            f"already delivered) to {MAX_LINE_QUANTITY}.", field="quantity")
    if line.unit_price * quantity > MAX_AMOUNT:
        raise ValidationFailed(
            f"{quantity} x {line.unit_price} comes to more than the largest amount, "
            f"{MAX_AMOUNT}; split the order.", field="quantity")
    audit = AuditLog(user)
    if quantity < current:
        _units_cancel(order, line, item, current - quantity, audit)
    elif quantity > current:
        added = quantity - current
        restored = min(added, line.cancelled)
        line.cancelled -= restored
        line.quantity += added - restored
        if order.finalized_at is None:
            line.pending += added
        else:
            _units_decide(order, line, item, added, audit)
    audit.add("line_quantity_changed", order=order, item=item, line=line.pk,
              quantity_before=current, quantity_after=quantity)
    lines_recompute_money([line])
    line.save()
    order_sync([order])
    audit.flush()
    order.refresh_from_db()
    return order


@transaction.atomic
def line_cancel(*, user, number: str, line_id: int, quantity: int,
                refund: str = "none") -> Order:
    """Cancel undelivered units of a line; optionally refund what was paid beyond the new total."""
    _check_refund_choice(refund)
    order, line, item = _line_locked(number, line_id)
    _require_open(order)
    open_units = line.pending + line.ready + line.back_ordered
    if not isinstance(quantity, int) or not 1 <= quantity <= open_units:
        raise ValidationFailed(
            f"Line {line.pk} has {open_units} undelivered units; cancel from 1 to {open_units}.",
            field="quantity")
    audit = AuditLog(user)
    _units_cancel(order, line, item, quantity, audit)
    lines_recompute_money([line])
    _line_write(line)
    # No payment changed, so the locked order's cached `paid` is still the sum of its payments.
    order_sync([order], paid={order.pk: order.paid})
    _refund_excess(order, refund, user, audit, reason=f"Cancelled {quantity} x {item.sku}")
    audit.flush()
    return _order_read(order.pk)


def _units_cancel(order: Order, line: OrderLine, item: Item, units: int,
                  audit: AuditLog) -> None:
    """Cancel undelivered units: pending, then back-ordered, then ready ones."""
    from_pending = min(units, line.pending)
    from_back_order = min(units - from_pending, line.back_ordered)
    from_ready = units - from_pending - from_back_order
    line.pending -= from_pending
    line.back_ordered -= from_back_order
    line.ready -= from_ready
    line.cancelled += units
    requests_uncover(order, line, item, from_back_order, audit)
    if from_ready and item.tracked:
        item.reserved -= from_ready
        execute(ITEM_RESERVED_WRITE, [item.reserved, item.pk])
    audit.add("units_cancelled", order=order, item=item, line=line.pk, quantity=units,
              from_back_order=from_back_order, from_ready=from_ready,
              cancelled_after=line.cancelled)
    if from_ready and item.tracked:
        _line_write(line)
        stock_offer(item, from_ready, audit, source="released",
                    exclude_line_ids=frozenset({line.pk}))


@transaction.atomic
def line_return(*, user, number: str, line_id: int, quantity: int,
                refund: str = "none", reason: str = "") -> Order:
    """Take back delivered units: they return to stock and leave the order's total."""
    _check_refund_choice(refund)
    order, line, item = _line_locked(number, line_id)
    if not isinstance(quantity, int) or not 1 <= quantity <= line.delivered:
        raise ValidationFailed(
            f"Line {line.pk} has {line.delivered} delivered units; return from 1 to "
            f"{line.delivered}.", field="quantity")
    audit = AuditLog(user)
    line.delivered -= quantity
    line.cancelled += quantity
    lines_recompute_money([line])
    _line_write(line)
    if item.tracked:
        item.on_hand += quantity
        execute(ITEM_ON_HAND_WRITE, [item.on_hand, item.pk])
    audit.add("units_returned", order=order, item=item, line=line.pk, quantity=quantity,
              reason=reason, on_hand_after=item.on_hand)
    # No payment changed, so the locked order's cached `paid` is still the sum of its payments.
    order_sync([order], paid={order.pk: order.paid})
    if item.tracked:
        stock_offer(item, quantity, audit, source="return")
    order = _order_read(order.pk)
    _refund_excess(order, refund, user, audit, reason=reason or f"Returned {quantity} x {item.sku}")
    audit.flush()
    return order


# ---------------------------------------------------------------- hand-over


@dataclass(frozen=True)
class DeliverLine:
    line_id: int
    quantity: int


@transaction.atomic
def order_deliver(*, user, number: str, lines: list[DeliverLine] | None = None,
                  payments: list[PaymentInput] | None = None) -> Order:
    """Hand over ready units (all of them when no lines are given), collecting what is due."""
    order, order_lines, items = _order_lines_items_locked(number)
    _require_finalized(order)
    current = {line.pk: line for line in order_lines}
    for line in current.values():
        line.item = items[line.item_id]
    units = _delivery_units(order, current, lines)

    take_from_stock: dict[int, int] = {}
    for line_id, quantity in units.items():
        line = current[line_id]
        beyond_ready = quantity - line.ready
        if beyond_ready > 0:
            item = items[line.item_id]
            if not line.take_now or beyond_ready > min(line.back_ordered, item.available):
                raise NothingToDeliver(
                    f"Only {line.ready} of line {line.pk} ({item.sku}) are ready to hand over; "
                    f"{quantity} asked.", field="lines", line=line.pk, ready=line.ready,
                    requested=quantity)
            take_from_stock[line_id] = beyond_ready

    audit = AuditLog(user)
    applied = payments_take(order=order, inputs=payments or [],
                            balance=order.total - order.paid, user=user, audit=audit)
    paid_after = order.paid + applied
    due = delivered_value(current.values(), units) - paid_after
    if order.type == OrderType.LAYAWAY and order.total - paid_after > 0:
        raise BalanceDue(
            f"A layaway is handed over only when paid in full; collect "
            f"{order.total - paid_after} first.", field="payments",
            balance=str(order.total - paid_after))
    if due > 0:
        if not has_permission(user, "deliver_with_balance"):
            raise BalanceDue(
                f"Collect {due} before handing over these goods, or have a manager approve "
                f"handing over with a balance.", field="payments", amount_due=str(due))
        audit.add("delivered_with_balance", order=order, amount_due=due)

    for line_id, quantity in units.items():
        line = current[line_id]
        item = items[line.item_id]
        from_stock = take_from_stock.get(line_id, 0)
        from_ready = quantity - from_stock
        line.ready -= from_ready
        line.back_ordered -= from_stock
        line.delivered += quantity
        if item.tracked:
            item.on_hand -= quantity
            item.reserved -= from_ready
        if from_stock:
            requests_uncover(order, line, item, from_stock, audit)
        audit.add("units_delivered", order=order, item=item, line=line.pk, sku=item.sku,
                  quantity=quantity, delivered_after=line.delivered, ready_after=line.ready,
                  on_hand_after=item.on_hand)
    with writes_together():
        update_rows(Item, [items[current[i].item_id] for i in units], ["on_hand", "reserved"])
        update_rows(OrderLine, [current[i] for i in units],
                    ["ready", "back_ordered", "delivered"])
        # The order is locked and its cached `paid` is the sum of its live payments.
        order_sync([order], {order.pk: list(current.values())}, paid={order.pk: paid_after})
        audit.flush()
    return order


def _delivery_units(order: Order, current: dict[int, OrderLine],
                    lines: list[DeliverLine] | None) -> dict[int, int]:
    units: dict[int, int] = {}
    if lines is None:
        units = {pk: line.ready for pk, line in current.items() if line.ready > 0}
        if not units:
            raise NothingToDeliver(f"Order {order.number} has nothing ready to hand over.")
        return units
    if not lines:
        raise ValidationFailed("Give at least one line to hand over, or leave the lines out "
                               "to hand over every ready unit.", field="lines")
    # A repeated line is reported before an unknown one, as a receipt reports them.
    reject_repeated_lines([spec.line_id for spec in lines], "to hand over from it")
    for index, spec in enumerate(lines):
        if spec.line_id not in current:
            raise NotFound(f"Line {spec.line_id} is not on order {order.number}.",
                           field=f"lines[{index}].id")
        if spec.quantity < 1:
            raise ValidationFailed(f"Quantity {spec.quantity} is invalid; give 1 or more.",
                                   field=f"lines[{index}].quantity")
        units[spec.line_id] = spec.quantity
    if not units:
        raise NothingToDeliver(f"No lines given to hand over on order {order.number}.")
    return units


# ---------------------------------------------------------------- void and priority


@transaction.atomic
def order_void(*, user, number: str, refund: str = "original_tender", reason: str = "") -> Order:
    """Void an order: every undelivered unit is cancelled.

    A sale's goods left at finalize, on the spot, so voiding a sale takes
    them back into stock. Other orders keep what was already handed over;
    taking that back is a return (`line_return`).
    """
    require(user, "void", "void an order")
    _check_refund_choice(refund)
    if not reason.strip():
        raise ValidationFailed("Give a reason for voiding the order.", field="reason")
    order, lines, items = _order_lines_items_locked(number)
    if order.status == OrderStatus.CANCELLED:
        raise InvalidState(f"Order {order.number} is already voided.")
    if order.type != OrderType.SALE and not any(
            line.pending or line.ready or line.back_ordered for line in lines):
        raise InvalidState(
            f"Order {order.number} has nothing left to void: every unit was handed over or "
            "cancelled. Take goods back with a return instead.")
    audit = AuditLog(user)
    released: dict[int, int] = {}
    for line in lines:
        item = items[line.item_id]
        returned = line.delivered if order.type == OrderType.SALE else 0
        open_units = line.pending + line.back_ordered + line.ready
        if open_units:
            ready = line.ready
            _units_cancel_quiet(order, line, item, audit)
            released[item.pk] = released.get(item.pk, 0) + ready
        if returned:
            line.delivered -= returned
            line.cancelled += returned
            if item.tracked:
                item.on_hand += returned
                released[item.pk] = released.get(item.pk, 0) + returned
        lines_recompute_money([line])
    update_rows(Item, list(items.values()), ["on_hand", "reserved"])
    update_rows(OrderLine, lines, ["pending", "ready", "back_ordered", "delivered", "cancelled",
                                   "line_total", "tax"])
    order.voided_at = timezone.now()
    Order.objects.filter(pk=order.pk).update(voided_at=order.voided_at)
    # No payment changed, so the locked order's cached `paid` is still the sum of its payments.
    order_sync([order], {order.pk: lines}, paid={order.pk: order.paid})
    audit.add("order_voided", order=order, reason=reason)
    stock_offers([Offer(items[item_id], units) for item_id, units in sorted(released.items())
                  if items[item_id].tracked and units], audit, source="released")
    order.refresh_from_db()
    _refund_excess(order, refund, user, audit, reason=reason)
    audit.flush()
    return order


def _units_cancel_quiet(order: Order, line: OrderLine, item: Item, audit: AuditLog) -> None:
    """Cancel all undelivered units of a line without offering freed stock yet."""
    requests_uncover(order, line, item, line.back_ordered, audit)
    if item.tracked:
        item.reserved -= line.ready
    units = line.pending + line.back_ordered + line.ready
    audit.add("units_cancelled", order=order, item=item, line=line.pk, quantity=units,
              from_back_order=line.back_ordered, from_ready=line.ready)
    line.cancelled += units
    line.pending = line.back_ordered = line.ready = 0


@transaction.atomic
def order_set_priority(*, user, number: str, priority: int) -> Order:
    require(user, "set_priority", "change an order's priority")
    if not isinstance(priority, int) or not -MAX_PRIORITY <= priority <= MAX_PRIORITY:
        raise ValidationFailed(
            f"Priority {priority} is invalid; give a whole number from {-MAX_PRIORITY} to "
            f"{MAX_PRIORITY}.", field="priority")
    order = lock_order_by_number(number)
    audit = AuditLog(user)
    audit.add("priority_changed", order=order, before=order.priority, after=priority)
    order.priority = priority
    order.save(update_fields=["priority"])
    audit.flush()
    return order


# ---------------------------------------------------------------- helpers


def _refund_excess(order: Order, refund: str, user, audit: AuditLog, reason: str) -> None:
    """Refund what was paid beyond the order's new total, when the clerk asked for it.

    The locked order's cached `paid` is the sum of its live payments, so the
    amount paid after the refunds is known without reading the payments.
    """
    excess = order.paid - order.total
    if refund == "none" or excess <= 0:
        return
    require(user, "refund", "refund a payment")
    refunds = refund_issue(order=order, amount=excess, tender=None,
                           to_store_credit=refund == "store_credit",
                           reason=reason or "Cancelled goods", user=user, audit=audit)
    refunded = sum((refund.amount for refund in refunds), ZERO)
    order_sync([order], paid={order.pk: order.paid - refunded})


def _check_refund_choice(refund: str) -> None:
    if refund not in REFUND_CHOICES:
        raise ValidationFailed(
            f"Unknown refund choice '{refund}'; use one of {', '.join(REFUND_CHOICES)}.",
            field="refund")


def _order_locked_for_items(number: str) -> Order:
    """Lock an order's items, then the order itself: the one lock order of the services."""
    return _order_and_items_locked(number)[0]


# Conditions on the catalog items: the items on the lines of the order with the
# given number, and the item of one line of that order. The statement that finds
# the items locks them, in pk order as `lock_items` does.
ITEMS_ON_ORDER = (
    '"id" IN (SELECT "sales_orderline"."item_id" FROM "sales_orderline" '
    'INNER JOIN "sales_order" ON "sales_order"."id" = "sales_orderline"."order_id" '
    'WHERE "sales_order"."number" = %s)')
ITEM_OF_LINE_ON_ORDER = (
    '"id" IN (SELECT "sales_orderline"."item_id" FROM "sales_orderline" '
    'INNER JOIN "sales_order" ON "sales_order"."id" = "sales_orderline"."order_id" '
    'WHERE "sales_orderline"."id" = %s AND "sales_order"."number" = %s)')


def _order_and_items_locked(number: str) -> tuple[Order, dict[int, Item]]:
    """Lock an order's items, then the order; return the order and the items by id."""
    items = model_rows(Item, ITEMS_ON_ORDER, [number], lock=True)
    return lock_order_by_number(number), {item.pk: item for item in items}


def _order_lines_items_locked(number: str) -> tuple[Order, list[OrderLine], dict[int, Item]]:
    """Lock an order's items, then the order; return the order, its lines in position
    order and the items by id."""
    items = model_rows(Item, ITEMS_ON_ORDER, [number], lock=True)
    order, lines = lock_order_with_lines(number)
    return order, lines, {item.pk: item for item in items}


def _line_locked(number: str, line_id: int) -> tuple[Order, OrderLine, Item]:
    items = (model_rows(Item, ITEM_OF_LINE_ON_ORDER, [line_id, number], lock=True)
             if id_fits(line_id) else [])
    if not items:
        order_id_of(number)  # raises NotFound when the order itself is unknown
        raise NotFound(f"Line {line_id} is not on order {number}.", field="line")
    order = lock_order_by_number(number)
    [line] = model_rows(OrderLine, '"id" = %s', [line_id])
    return order, line, items[0]


def _order_read(order_id: int) -> Order:
    """Read an order again, after other services may have changed it."""
    [order] = model_rows(Order, '"id" = %s', [order_id])
    return order


ITEM_ON_HAND_WRITE = 'UPDATE "catalog_item" SET "on_hand" = %s WHERE "id" = %s'
ITEM_RESERVED_WRITE = 'UPDATE "catalog_item" SET "reserved" = %s WHERE "id" = %s'
LINE_UNITS_WRITE = (
    'UPDATE "sales_orderline" SET "quantity" = %s, "pending" = %s, "delivered" = %s, '
    '"ready" = %s, "back_ordered" = %s, "cancelled" = %s, "line_total" = %s, "tax" = %s '
    'WHERE "id" = %s')


def _line_write(line: OrderLine) -> None:
    """Save the columns the services change on a line: its units and its money."""
    execute(LINE_UNITS_WRITE, [line.quantity, line.pending, line.delivered, line.ready,
                               line.back_ordered, line.cancelled, line.line_total, line.tax,
                               line.pk])


def _require_open(order: Order) -> None:
    if order.status in (OrderStatus.CANCELLED, OrderStatus.DELIVERED):
        raise InvalidState(f"Order {order.number} is {order.get_status_display().lower()}; "
                           "it cannot change.")


def _require_finalized(order: Order) -> None:
    if order.finalized_at is None:
        raise InvalidState(f"Order {order.number} is on hold; finalize it first.")
    if order.status == OrderStatus.CANCELLED:
        raise InvalidState(f"Order {order.number} is voided.")
