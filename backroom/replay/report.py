"""Counters kept while the replay runs, and the report built from them and the database."""

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from backroom.core.models import StoreSettings
from backroom.core.money import ZERO, round_money
from backroom.purchasing.models import (
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseRequest,
    Receipt,
    RequestStatus,
)
from backroom.replay.source import RetailRow
from backroom.sales.models import Order, OrderLine, OrderStatus, OrderType, Payment, PaymentKind
from backroom.sales.totals import delivered_value

MAX_EXAMPLES = 5
# The report lists each of these with its count, zero included.
INVOICE_KINDS = ("sale", "cancellation", "bad_debt")
ROW_KINDS = ("sale", "cancellation", "stock_adjustment", "bad_debt", "zero_quantity")
NOTICE_SOURCES = ("receipt", "return", "adjustment", "released")
EARLIER_COUNTS = ("units_cancelled", "units_returned", "units_filled", "pickups")


@dataclass
class ReplayStats:
    """What the replay did, counted as it went."""

    rows: int = 0
    invoices: set[str] = field(default_factory=set)
    # Distinct invoice numbers and blocks of rows, by kind. An invoice whose rows are
    # not contiguous makes a block each, and its number is kept in `split_invoices`.
    invoice_kinds: Counter = field(default_factory=Counter)
    invoice_blocks: Counter = field(default_factory=Counter)
    split_invoices: list[str] = field(default_factory=list)
    row_kinds: Counter = field(default_factory=Counter)
    # Rows of charges (codes not starting with five digits) on sales, and on cancellations.
    charge_lines: Counter = field(default_factory=Counter)
    charge_cancellation_lines: Counter = field(default_factory=Counter)
    units_asked: int = 0
    units_handed_over: int = 0
    units_back_ordered: int = 0
    back_order_lines: int = 0
    walk_in_units_missing: int = 0
    cancel_units: Counter = field(default_factory=Counter)
    adjusted_units: Counter = field(default_factory=Counter)
    buyer_runs: int = 0
    purchase_orders: int = 0
    receipts: int = 0
    lines_closed_short: int = 0
    units_received: int = 0
    notices: Counter = field(default_factory=Counter)
    notice_units: Counter = field(default_factory=Counter)
    pickups: int = 0
    pickups_skipped: int = 0
    days_waited: list[float] = field(default_factory=list)
    rejected_rows: Counter = field(default_factory=Counter)
    rejected_units: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    engine_errors: Counter = field(default_factory=Counter)
    # The part of the counts above that concerns orders of earlier runs (EARLIER_COUNTS).
    earlier: Counter = field(default_factory=Counter)

    def reject(self, rows: list[RetailRow] | tuple[RetailRow, ...], reason: str,
               units: int | None = None) -> None:
        """Count source rows that the replay could not carry out, with the reason."""
        self.rejected_rows[reason] += len(rows)
        self.rejected_units[reason] += sum(abs(row.quantity) for row in rows) \
            if units is None else units
        if rows and len(self.examples[reason]) < MAX_EXAMPLES:
            row = rows[0]
            self.examples[reason].append(
                f"line {row.number}: invoice {row.invoice}, {row.stock_code} x {row.quantity}")

    def invoice_block(self, number: str, kind: str) -> None:
        """Count a block of rows of one invoice number."""
        self.invoice_blocks[kind] += 1
        if number not in self.invoices:
            self.invoices.add(number)
            self.invoice_kinds[kind] += 1
        elif number not in self.split_invoices:
            self.split_invoices.append(number)

    def engine_error(self, action: str, code: str) -> None:
        self.engine_errors[f"{action}: {code}"] += 1


def _spread(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"orders": 0, "mean": None, "median": None, "p95": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"orders": len(values), "mean": round(statistics.fmean(values), 2),
            "median": round(statistics.median(values), 2), "p95": round(p95, 2)}


def _money(value: Decimal | None) -> str:
    # SQLite sums decimals in floating point, so round the sum back to the cent.
    return str(round_money(Decimal(value or ZERO)))


def report_build(stats: ReplayStats, *, before: dict[str, int],
                 extra: dict[str, Any]) -> dict[str, Any]:
    """Assemble the report: the run's counters plus figures read from the database.

    `before` holds the highest ids from before the run (see highest_ids). The
    figures of what the run did (units taken back, notices, pick-ups, money taken
    and refunded) count it on any order, and those of the orders at the end (their
    statuses, what still waits, deposits held) cover the orders this run created.
    `earlier_orders` gives both for the orders of earlier runs.
    """
    first_order_id = before["order"]
    orders = Order.objects.filter(pk__gt=first_order_id)
    by_type: dict[str, dict[str, int]] = defaultdict(dict)
    for row in orders.values("type", "status").annotate(count=Count("id")):
        by_type[row["type"]][row["status"]] = row["count"]
    fill_rate = stats.units_handed_over / stats.units_asked if stats.units_asked else None
    report: dict[str, Any] = dict(extra)
    report.update({
        "invoices": {
            "distinct": len(stats.invoices),
            "by_kind": _complete(stats.invoice_kinds, INVOICE_KINDS),
            "blocks": sum(stats.invoice_blocks.values()),
            "blocks_by_kind": _complete(stats.invoice_blocks, INVOICE_KINDS),
            "split": {"invoices": len(stats.split_invoices),
                      "examples": stats.split_invoices[:MAX_EXAMPLES]},
        },
        "lines": {"read": stats.rows, "by_kind": _complete(stats.row_kinds, ROW_KINDS),
                  "charges_by_code": dict(stats.charge_lines.most_common()),
                  "charge_cancellations_by_code":
                      dict(stats.charge_cancellation_lines.most_common())},
        "orders": {
            "created": orders.count(),
            "by_type": _complete({kind: sum(statuses.values())
                                  for kind, statuses in by_type.items()}, OrderType.values),
            "by_status": _complete(_status_totals(by_type), OrderStatus.values),
            "by_type_and_status": {kind: _complete(by_type.get(kind, {}), OrderStatus.values)
                                   for kind in [*OrderType.values, *by_type]},
        },
        "counter": {
            "units_asked": stats.units_asked,
            "units_handed_over": stats.units_handed_over,
            "units_back_ordered": stats.units_back_ordered,
            "walk_in_units_not_in_stock": stats.walk_in_units_missing,
            "fill_rate": round(fill_rate, 4) if fill_rate is not None else None,
        },
        "back_orders": _back_orders(stats, first_order_id),
        "purchasing": _purchasing(stats, before["purchase_order"], before["purchase_request"]),
        "receiving_notices": {"count": sum(stats.notices.values()),
                              "units": sum(stats.notice_units.values()),
                              "by_source": _complete(stats.notices, NOTICE_SOURCES),
                              "units_by_source": _complete(stats.notice_units, NOTICE_SOURCES)},
        "pickups": {"orders": stats.pickups, "skipped": stats.pickups_skipped},
        "days_waited": _spread(stats.days_waited),
        "cancellations": _complete(stats.cancel_units, ("units_cancelled", "units_returned")),
        "stock_adjustments": _complete(stats.adjusted_units, ("found", "written_off")),
        "rejected": {
            "rows": sum(stats.rejected_rows.values()),
            "reasons": {reason: {"rows": count, "units": stats.rejected_units[reason],
                                 "examples": stats.examples[reason]}
                        for reason, count in stats.rejected_rows.most_common()},
        },
        "engine_errors": dict(stats.engine_errors.most_common()),
        "money": _money_figures(orders, before["payment"]),
        "earlier_orders": _earlier_orders(stats, before["payment"], first_order_id),
    })
    return report


def _complete(counts: Mapping[str, int], keys: Iterable[str]) -> dict[str, int]:
    """Return `counts` with every one of `keys`, zero where none was counted, first."""
    complete = {key: counts.get(key, 0) for key in keys}
    complete.update((key, count) for key, count in counts.items() if key not in complete)
    return complete


def _status_totals(by_type: dict[str, dict[str, int]]) -> dict[str, int]:
    totals: Counter = Counter()
    for statuses in by_type.values():
        totals.update(statuses)
    return dict(totals)


def _back_orders(stats: ReplayStats, first_order_id: int) -> dict[str, Any]:
    still = (OrderLine.objects.filter(order_id__gt=first_order_id, back_ordered__gt=0)
             .aggregate(lines=Count("id"), units=Sum("back_ordered", default=0)))
    return {
        "lines": stats.back_order_lines,
        "units": stats.units_back_ordered,
        "units_filled": sum(stats.notice_units.values()) - stats.earlier["units_filled"],
        "lines_still_waiting": still["lines"],
        "units_still_waiting": still["units"],
        "orders_still_waiting": Order.objects.filter(
            pk__gt=first_order_id, status=OrderStatus.WAITING).count(),
    }


def _purchasing(stats: ReplayStats, first_po_id: int, first_request_id: int) -> dict[str, Any]:
    pos = PurchaseOrder.objects.filter(pk__gt=first_po_id)
    lines = PurchaseOrderLine.objects.filter(purchase_order_id__gt=first_po_id)
    requests = PurchaseRequest.objects.filter(pk__gt=first_request_id)
    return {
        "buyer_runs": stats.buyer_runs,
        "purchase_orders": stats.purchase_orders,
        "by_status": _complete(dict(pos.values_list("status").annotate(count=Count("id"))),
                               POStatus.values),
        "lines": lines.count(),
        "units_ordered": lines.aggregate(units=Sum("quantity", default=0))["units"],
        "receipts": stats.receipts,
        "receipts_in_database": Receipt.objects.filter(purchase_order_id__gt=first_po_id).count(),
        "units_received": stats.units_received,
        "lines_closed_short": stats.lines_closed_short,
        "requests_by_status": _complete(
            dict(requests.values_list("status").annotate(count=Count("id"))),
            RequestStatus.values),
    }


def _money_figures(orders, first_payment_id: int) -> dict[str, Any]:
    """Return the money the run took and refunded on any order, by the ids of the
    payments it made, and the deposits held at the end on the orders it created."""
    sums = _payment_sums(Payment.objects.filter(pk__gt=first_payment_id))
    return {"currency": StoreSettings.load().currency, "taken": sums["taken"],
            "refunded": sums["refunded"], "deposits_held": _deposits_held(orders)}


def _earlier_orders(stats: ReplayStats, first_payment_id: int,
                    first_order_id: int) -> dict[str, Any]:
    """Return what the run did to the orders of earlier runs, a part of the run's totals,
    and the deposits held on them at the end."""
    sums = _payment_sums(Payment.objects.filter(pk__gt=first_payment_id,
                                                order_id__lte=first_order_id))
    return {**_complete(stats.earlier, EARLIER_COUNTS), **sums,
            "deposits_held": _deposits_held(Order.objects.filter(pk__lte=first_order_id))}


def _payment_sums(payments) -> dict[str, str]:
    sums = payments.filter(voided_at__isnull=True).aggregate(
        taken=Sum("amount", filter=Q(kind=PaymentKind.PAYMENT)),
        refunded=Sum("amount", filter=Q(kind=PaymentKind.REFUND)))
    return {"taken": _money(sums["taken"]), "refunded": _money(sums["refunded"])}


def _deposits_held(orders) -> str:
    """Return what the open orders among `orders` hold beyond their delivered goods."""
    held = ZERO
    open_orders = orders.filter(status__in=[OrderStatus.WAITING, OrderStatus.READY])
    for order in open_orders.prefetch_related("lines"):
        held += max(order.paid - delivered_value(order.lines.all()), ZERO)
    return _money(held)


def highest_ids() -> dict[str, int]:
    """Return the highest ids that exist now, to tell a run's rows from older ones."""
    def top(model) -> int:
        return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    return {"order": top(Order), "purchase_order": top(PurchaseOrder),
            "purchase_request": top(PurchaseRequest), "payment": top(Payment)}
