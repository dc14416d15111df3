"""The replay of a retailer's transaction log through the order engine's services.

Every invoice, cancellation, write-off, purchase order, receipt and pick-up
goes through the same services the counter and the API use, as the replay
user (an owner). The simulated store works like this:

- Invoices with a customer become sales orders: what is on the shelf is
  handed over at once ("take now") and paid in full, the rest is
  back-ordered with a deposit of the store's deposit percent. Invoices
  without a customer are walk-in sales of what is on the shelf; units not
  in stock are counted as missed, since a sale cannot back-order.
- C invoices cancel the customer's open units of the item, newest line
  first, then return delivered ones, refunding what was paid beyond the new
  total. Rows without a customer, at price 0, on ordinary invoices are stock
  adjustments (found stock or write-offs). A invoices (bad debt) are skipped.
- A buyer runs on `buyer_weekdays` at `buyer_time` and sends each vendor
  with open purchase requests one purchase order with the vendor's requests
  and the reorder quantities of its items under their reorder point.
- Goods arrive the vendor's lead time after the order. About one PO line in
  `short_one_in` arrives short (`short_fraction` of it) and is closed short.
- A customer picks up an order `pickup_delay` after it became ready and
  pays the balance.

The replay commits about every half second. Each service call inside runs in
its own atomic block, a savepoint of that transaction, as at the counter.
Each commit also carries the batch's clock marks and the run's progress (see
backroom.replay.runs), so an interrupted run can be restamped and recorded.
"""

import dataclasses
import datetime
import heapq
import itertools
import logging
import signal
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone
from tqdm import tqdm

from backroom.allocation.decide import SALES_ORDER, LineDecision, LineRequest, decide_lines
from backroom.catalog.models import Item, Vendor
from backroom.catalog.services import item_adjust_stock
from backroom.core import sql
from backroom.core.errors import BackroomError
from backroom.core.invariants import invariant_violations
from backroom.core.models import StoreSettings
from backroom.core.money import ZERO, percent_of, round_money
from backroom.customers.models import Customer
from backroom.customers.services import customer_create, walk_in_customer
from backroom.purchasing.models import (
    PurchaseOrderLine,
    PurchaseRequest,
    ReceivingNotice,
    RequestStatus,
)
from backroom.purchasing.services import (
    ReceiveLineInput,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_submit,
    reorder_requests_create,
)
from backroom.replay.clock import SimulatedClock, restamp
from backroom.replay.models import ReplayRun
from backroom.replay.report import ReplayStats, highest_ids, report_build
from backroom.replay.runs import (
    ReplayRejected,
    finish_unfinished_runs,
    next_steps,
    overlap_rejection_reason,
    record_interruption,
    replay_lock,
    stop_description,
)
from backroom.replay.source import (
    CUSTOMER_EMAIL,
    CUSTOMER_NAME,
    RETURN_REASON,
    SOURCE_TIME_ZONE,
    Invoice,
    RetailRow,
    read_invoices,
)
from backroom.replay.store import (
    CatalogResult,
    Survey,
    catalog_build,
    store_rejection_reason,
    survey,
)
from backroom.replay.upserts import RowInvalid
from backroom.replay.users import replay_user
from backroom.sales.models import Order, OrderStatus, OrderType
from backroom.sales.payments import PaymentInput
from backroom.sales.services import LineInput, line_cancel, line_return, order_create, order_deliver
from backroom.sales.totals import line_amounts

logger = logging.getLogger(__name__)

# How long the replay works in one transaction: long enough to save most
# commits, short enough that a terminal waiting for the write lock hardly notices.
COMMIT_SECONDS = 0.5

# How often the progress bar shows the simulated date while no invoice moves it.
PROGRESS_SECONDS = 0.5

# How many of a customer's lines of one item a cancellation looks through.
MATCH_WINDOW = 200

# The replay's own reads, run for nearly every invoice, receipt and pick-up.
AVAILABLE_SQL = 'SELECT "id", "on_hand", "reserved" FROM "catalog_item" WHERE {ids}'
CUSTOMER_ORDERS_SQL = 'SELECT "id", "number" FROM "sales_order" WHERE "customer_id" = %s'
CUSTOMER_LINES_SQL = (
    'SELECT "id", "order_id", "ready", "back_ordered", "delivered" FROM "sales_orderline" '
    'WHERE {orders} AND "item_id" = %s '
    'AND ("ready" > 0 OR "back_ordered" > 0 OR "delivered" > 0)')
ORDER_BALANCE_SQL = 'SELECT "status", "total", "paid" FROM "sales_order" WHERE "id" = %s'
_ORDER_BALANCE_FIELDS = (None, sql.field(Order, "total"), sql.field(Order, "paid"))
NOTICES_AFTER_SQL = (
    'SELECT "notice"."id", "notice"."order_id", "order"."number", "notice"."quantity", '
    '"notice"."order_status", "notice"."source" '
    'FROM "purchasing_receivingnotice" AS "notice" '
    'INNER JOIN "sales_order" AS "order" ON "order"."id" = "notice"."order_id" '
    'WHERE "notice"."id" > %s ORDER BY "notice"."id"')


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread as Ctrl+C raises KeyboardInterrupt.

    A KeyboardInterrupt subclass, so that psycopg cancels a running query for
    it as for Ctrl+C.
    """


class ReplayInterrupted(Exception):
    """The replay stopped early; what it committed stays, recorded and restamped."""

    def __init__(self, message: str, report: dict[str, Any], exit_status: int) -> None:
        super().__init__(message)
        self.report = report
        self.exit_status = exit_status


@dataclass(frozen=True)
class ReplayPolicy:
    """The simulated store's habits; see the module docstring."""

    buyer_weekdays: tuple[int, ...] = (0, 3)  # Monday and Thursday
    buyer_time: datetime.time = datetime.time(8, 0)
    pickup_delay: datetime.timedelta = datetime.timedelta(days=2)
    short_one_in: int = 10
    short_fraction: Decimal = Decimal("0.5")
    store_currency: str = "GBP"
    opening_stock: bool = True


@dataclass(frozen=True)
class ReplayOptions:
    path: Path
    start: datetime.date | None = None
    end: datetime.date | None = None
    invoices: int | None = None
    progress: bool = True
    restamp: bool = True
    # Days the store keeps buying, receiving and handing over after the last invoice.
    settle_days: int = 0


@dataclass(order=True)
class Event:
    at: datetime.datetime
    sequence: int
    kind: str
    payload: Any = None


class Replay:
    def __init__(self, options: ReplayOptions, policy: ReplayPolicy | None = None) -> None:
        self.options = options
        self.policy = policy or ReplayPolicy()
        self.stats = ReplayStats()
        self.queue: list[Event] = []
        self.sequence = itertools.count()
        self.items: dict[str, tuple[int, bool]] = {}
        self.customers: dict[str, int] = {}
        self.waiting_since: dict[int, datetime.datetime] = {}
        self.picked: set[int] = set()
        self.last_notice_id = 0
        self.user: Any = None
        self.clock: SimulatedClock | None = None
        # The highest id of each table before the run, by table (see highest_ids).
        self.before: dict[str, int] = {}
        # The invoice bar while the invoices run, and when to redraw it next.
        self.progress: tqdm | None = None
        self.next_redraw = 0.0

    # ------------------------------------------------------------ the run

    def run(self) -> dict[str, Any]:
        """Replay the selected invoices and return the report.

        Raises ReplayRejected, before writing anything, when the store cannot
        take the replay, and ReplayInterrupted when the run stops early (Ctrl+C,
        SIGTERM, an engine error) after it began to write.
        """
        started = time.perf_counter()
        with replay_lock():
            finish_unfinished_runs()
            # The survey reads the whole selection first, so an unreadable file or an
            # empty range stops the replay before it writes anything.
            found = survey(self._invoices())
            if not found.invoices:
                return {"invoices": {"distinct": 0}, "lines": {"read": 0}}
            assert found.first_at is not None and found.last_at is not None
            reason = (store_rejection_reason(found)
                      or overlap_rejection_reason(found.first_at, found.last_at))
            if reason is not None:
                raise ReplayRejected(reason)
            self.user = replay_user()
            run, catalog = self._begin(found)
            try:
                return self._replay(run, found, catalog, started)
            except KeyboardInterrupt as interrupt:
                raise self._interrupted(run, interrupt) from None
            except (BackroomError, RowInvalid) as error:
                raise self._interrupted(run, error) from error

    def _begin(self, found: Survey) -> tuple[ReplayRun, CatalogResult]:
        """Record the run and build the catalog, in one transaction: an interruption
        here leaves nothing of the run behind."""
        assert found.first_at is not None
        self.before = highest_ids()
        with transaction.atomic():
            run = ReplayRun.objects.create(
                source=self.options.path.name, restamp=self.options.restamp,
                invoices_selected=found.invoices, first_invoice_at=found.first_at,
                last_commit_at=timezone.now())
            self.clock = SimulatedClock(run)
            self.clock.advance(found.first_at.replace(hour=7, minute=0))
            self._store_prepare()
            catalog = catalog_build(self.user, found, progress=self.options.progress,
                                    opening_stock=self.policy.opening_stock)
            self._checkpoint(run)
        return run, catalog

    def _replay(self, run: ReplayRun, found: Survey, catalog: CatalogResult,
                started: float) -> dict[str, Any]:
        assert self.clock is not None and found.first_at is not None
        assert found.last_at is not None
        self._caches_load()
        self._schedule(self._next_buyer_run(found.first_at), "buyer")

        # Each service still runs in its own atomic block, which becomes a savepoint
        # of the batch's transaction, so a service that fails rolls back alone. One
        # commit per batch saves the commit of every service call (on SQLite about
        # a millisecond each, and on PostgreSQL a flush of its log to disk). An
        # invoice needs no savepoint of its own: any error that escapes its service
        # calls rolls back the whole batch.
        # The progress bar closes on an interruption too, before its message.
        with _savepoint_journals_in_memory(), tqdm(
                self._invoices(), total=found.invoices, unit="invoice", desc="replay",
                disable=not self.options.progress) as invoices:
            self.progress = invoices
            for batch in _timed_batches(iter(invoices), COMMIT_SECONDS):
                with transaction.atomic():
                    done: list[Invoice] = []
                    for invoice in batch:
                        self._run_due(invoice.at)
                        self.clock.advance(invoice.at)
                        self._show_clock(invoice.at)
                        self._invoice(invoice)
                        done.append(invoice)
                    self._checkpoint(run, done)
        closing = datetime.datetime.combine(
            found.last_at.date() + datetime.timedelta(days=self.options.settle_days),
            datetime.time(23, 59), tzinfo=SOURCE_TIME_ZONE)
        # The settling days get a bar of their own, in simulated days.
        with _savepoint_journals_in_memory(), tqdm(
                total=self.options.settle_days, unit="day", desc="settle",
                disable=not (self.options.progress and self.options.settle_days)) as days:
            self.progress = None
            while self.queue and self.queue[0].at <= closing:
                with transaction.atomic():
                    self._run_due(closing, deadline=time.monotonic() + COMMIT_SECONDS)
                    self._checkpoint(run)
                settled = (self._now().date() - found.last_at.date()).days
                days.update(min(settled, days.total) - days.n)
            # The settling ends at the closing time, after the last event before it.
            days.update(days.total - days.n)
        replay_seconds = time.perf_counter() - started
        violations = invariant_violations()

        report = report_build(self.stats, before=self.before, extra={
            "source": {"file": self.options.path.name,
                       "from": self.options.start.isoformat() if self.options.start else None,
                       "to": self.options.end.isoformat() if self.options.end else None,
                       "invoice_limit": self.options.invoices},
            "simulated": {"first": found.first_at.isoformat(), "last": found.last_at.isoformat(),
                          "closing": closing.isoformat()},
            "catalog": {"vendors_created": catalog.vendors_created,
                        "items": dict(catalog.items), "charges": catalog.charges,
                        "opening_units": catalog.opening_units},
            "invariant_violations": {"count": len(violations), "first": violations[:20]},
        })
        # The timestamps move and the run is marked finished in one transaction, so
        # a run stopped meanwhile stays unfinished, and the next run restamps it.
        with transaction.atomic():
            restamp_started = time.perf_counter()
            restamped = restamp(self.clock) if self.options.restamp else 0
            report["timing"] = {
                "replay_seconds": round(replay_seconds, 1),
                "restamp_seconds": round(time.perf_counter() - restamp_started, 1),
                "rows_restamped": restamped,
                "lines_per_second": round(self.stats.rows / replay_seconds, 1)}
            run.report = report
            run.finished_at = timezone.now()
            run.save(update_fields=["report", "finished_at"])
        return report

    def _checkpoint(self, run: ReplayRun, done: list[Invoice] | None = None) -> None:
        """Write the pending clock marks and the run's progress into the transaction of
        the rows they describe, just before it commits."""
        assert self.clock is not None
        self.clock.flush()
        progress: dict[str, Any] = {"last_commit_at": timezone.now()}
        if done:
            progress.update(invoices_committed=F("invoices_committed") + len(done),
                            last_invoice=done[-1].number, last_invoice_at=done[-1].at)
        ReplayRun.objects.filter(pk=run.pk).update(**progress)
        # The ready notices go out right after the commit and write audit events:
        # this later time covers them, so that the next run restamps them after a crash.
        transaction.on_commit(lambda: ReplayRun.objects.filter(pk=run.pk).update(
            last_commit_at=timezone.now()))

    def _interrupted(self, run: ReplayRun, cause: BaseException) -> ReplayInterrupted:
        """Record the stop in the run, restamp what it committed and return the error
        to raise. The interrupted batch has rolled back by now."""
        if isinstance(cause, Terminated):
            by, exit_status = " by SIGTERM", 128 + signal.SIGTERM
        elif isinstance(cause, KeyboardInterrupt):
            by, exit_status = "", 128 + signal.SIGINT
        else:
            by, exit_status = f" by an engine error: {cause}", 1
        if self.clock is not None:
            # The marks of the rolled-back batch describe no row.
            self.clock.discard()
        logger.info("replay run %s stopped%s; recording it and moving its timestamps into "
                    "the simulated year", run.pk, by or " by Ctrl+C")
        try:
            run = record_interruption(run, f"stopped{by or ' by Ctrl+C (SIGINT)'}", None)
        except (KeyboardInterrupt, DatabaseError) as error:
            again = ("interrupted again" if isinstance(error, KeyboardInterrupt)
                     else f"failed ({error})")
            return ReplayInterrupted(
                f"Interrupted{by}, and recording the interruption was {again}. The database "
                "holds the batches committed before, with the real clock's dates; the next "
                "`backroom replay` on this database records the interruption and moves "
                "them into the simulated year.", {}, exit_status)
        if isinstance(cause, KeyboardInterrupt):
            stopped = f"Interrupted{by}"
        else:
            stopped = f"The replay stopped on an engine error: {cause} It stopped"
        return ReplayInterrupted(f"{stopped} {stop_description(run)}. {next_steps(run)}",
                                 run.report or {}, exit_status)

    def _invoices(self) -> Iterator[Invoice]:
        return read_invoices(self.options.path, start=self.options.start,
                             end=self.options.end, limit=self.options.invoices)

    def _store_prepare(self) -> None:
        """Set the store currency to the data's on a store that has no orders yet."""
        store = StoreSettings.load()
        self.store = store
        if store.currency != self.policy.store_currency and not Order.objects.exists():
            store.currency = self.policy.store_currency
            store.save(update_fields=["currency"])

    def _caches_load(self) -> None:
        self.items = {sku: (pk, tracked) for sku, pk, tracked
                      in Item.objects.values_list("sku", "pk", "tracked")}
        self.customers = dict(Customer.objects.exclude(external_id="")
                              .values_list("external_id", "pk"))
        self.walk_in_id = walk_in_customer().pk
        self.vendors = list(Vendor.objects.order_by("code")
                            .values_list("code", "pk", "lead_time_days"))
        self.last_notice_id = (ReceivingNotice.objects.order_by("-pk")
                               .values_list("pk", flat=True).first() or 0)

    # ------------------------------------------------------------ scheduling

    def _schedule(self, at: datetime.datetime, kind: str, payload: Any = None) -> None:
        heapq.heappush(self.queue, Event(at, next(self.sequence), kind, payload))

    def _run_due(self, until: datetime.datetime, deadline: float | None = None) -> None:
        """Carry out every scheduled event up to `until`, in time order, in the caller's
        transaction. With a `deadline` (a time.monotonic() value), stop after the event
        that passes it."""
        while self.queue and self.queue[0].at <= until:
            event = heapq.heappop(self.queue)
            assert self.clock is not None
            self.clock.advance(event.at)
            self._show_clock(event.at)
            # Each service call is atomic on its own, and an error that escapes them
            # rolls back the caller's whole batch, so the event needs no savepoint.
            if event.kind == "buyer":
                self._buyer_run(event.at)
            elif event.kind == "receive":
                self._receive(event.payload)
            else:
                self._pickup(*event.payload)
            if deadline is not None and time.monotonic() >= deadline:
                return

    def _show_clock(self, at: datetime.datetime) -> None:
        """Show the simulated date beside the invoice bar, and redraw the bar at most
        every PROGRESS_SECONDS, so that it moves while the buyer runs between invoices."""
        if self.progress is None:
            return
        self.progress.set_postfix_str(f"simulated {at:%Y-%m-%d}", refresh=False)
        now = time.monotonic()
        if now >= self.next_redraw:
            self.progress.refresh()
            self.next_redraw = now + PROGRESS_SECONDS

    def _next_buyer_run(self, after: datetime.datetime) -> datetime.datetime:
        day = after.date()
        while True:
            at = datetime.datetime.combine(day, self.policy.buyer_time, tzinfo=SOURCE_TIME_ZONE)
            if day.weekday() in self.policy.buyer_weekdays and at > after:
                return at
            day += datetime.timedelta(days=1)

    def _of_earlier_run(self, order_id: int) -> bool:
        """Return whether an earlier run made the order, as it existed before this run."""
        return order_id <= self.before["order"]

    def _now(self) -> datetime.datetime:
        assert self.clock is not None and self.clock.now is not None
        return self.clock.now

    # ------------------------------------------------------------ invoices

    def _invoice(self, invoice: Invoice) -> None:
        self.stats.rows += len(invoice.rows)
        self.stats.invoice_block(invoice.number, invoice.kind)
        empty = [row for row in invoice.rows if not row.quantity]
        if empty:
            self.stats.row_kinds["zero_quantity"] += len(empty)
            self.stats.reject(empty, "quantity 0")
            invoice = dataclasses.replace(
                invoice, rows=tuple(row for row in invoice.rows if row.quantity))
            if not invoice.rows:
                return
        if invoice.kind == "bad_debt":
            self.stats.row_kinds["bad_debt"] += len(invoice.rows)
            self.stats.reject(invoice.rows, "bad-debt adjustment, not a sale")
            return
        if invoice.kind == "cancellation":
            self.stats.row_kinds["cancellation"] += len(invoice.rows)
            self._cancellation(invoice)
            return
        adjustments = [row for row in invoice.rows if row.is_stock_adjustment]
        sold = [row for row in invoice.rows if not row.is_stock_adjustment]
        for row in adjustments:
            self.stats.row_kinds["stock_adjustment"] += 1
            self._adjust(row)
        if sold:
            self.stats.row_kinds["sale"] += len(sold)
            self._sale(invoice, sold)
        if adjustments:
            self._notices_collect()

    def _customer_id(self, invoice: Invoice) -> int:
        known = self.customers.get(invoice.customer)
        if known is not None:
            return known
        customer = customer_create(
            name=CUSTOMER_NAME.format(customer=invoice.customer, country=invoice.rows[0].country),
            email=CUSTOMER_EMAIL.format(customer=invoice.customer), external_id=invoice.customer)
        self.customers[invoice.customer] = customer.pk
        return customer.pk

    def _available(self, item_ids: list[int]) -> dict[int, int]:
        rows = sql.value_rows(AVAILABLE_SQL.format(ids=sql.ids_in('"id"')),
                              [sql.ids_value(item_ids)])
        return {pk: on_hand - reserved for pk, on_hand, reserved in rows}

    def _sale(self, invoice: Invoice, rows: list[RetailRow]) -> None:
        """Ring up an invoice: a sales order for a customer, a walk-in sale otherwise."""
        for row in rows:
            if not self.items[row.stock_code][1]:
                self.stats.charge_lines[row.stock_code] += 1
        requests = [LineRequest(item_id=self.items[row.stock_code][0], quantity=row.quantity,
                                tracked=self.items[row.stock_code][1], take_now=True)
                    for row in rows]
        available = self._available([line.item_id for line in requests if line.tracked])
        decisions, _ = decide_lines(SALES_ORDER, requests, available)
        if invoice.customer:
            self._sales_order(invoice, rows, requests, decisions)
        else:
            self._walk_in_sale(invoice, rows, requests, decisions)

    def _sales_order(self, invoice: Invoice, rows: list[RetailRow],
                     requests: list[LineRequest], decisions: list[LineDecision]) -> None:
        lines = [LineInput(sku=row.stock_code, quantity=row.quantity,
                           unit_price=row.unit_price, take_now=True) for row in rows]
        amount = self._amount_due_at_counter(rows, decisions)
        payments = [PaymentInput(amount=amount, tender="card")] if amount > 0 else []
        try:
            order = order_create(user=self.user, order_type=OrderType.SALES_ORDER,
                                 customer_id=self._customer_id(invoice), lines=lines,
                                 payments=payments)
        except BackroomError as error:
            self._engine_error("order_create", error, invoice)
            self.stats.reject(rows, f"order rejected: {error.code}")
            return
        self._count_counter(requests, decisions)
        if any(decision.back_order for decision in decisions):
            self.waiting_since[order.pk] = invoice.at

    def _amount_due_at_counter(self, rows: list[RetailRow],
                               decisions: list[LineDecision]) -> Decimal:
        """Return what a customer pays at the counter: the goods taken now in full, plus
        the store's deposit on the back-ordered rest; at least the minimum deposit."""
        total = ZERO
        taken = ZERO
        for row, decision in zip(rows, decisions, strict=True):
            line_total, _ = line_amounts(row.unit_price, row.quantity, ZERO, False, ZERO)
            total += line_total
            taken += round_money(line_total * decision.deliver / row.quantity)
        amount = taken + percent_of(total - taken, self.store.deposit_percent)
        amount = max(amount, percent_of(total, self.store.minimum_deposit_percent))
        return min(amount, total)

    def _walk_in_sale(self, invoice: Invoice, rows: list[RetailRow],
                      requests: list[LineRequest], decisions: list[LineDecision]) -> None:
        lines = []
        total = ZERO
        for row, decision in zip(rows, decisions, strict=True):
            missing = row.quantity - decision.deliver
            if missing:
                self.stats.walk_in_units_missing += missing
                self.stats.reject([row], "walk-in sale: not in stock", units=missing)
            if decision.deliver:
                lines.append(LineInput(sku=row.stock_code, quantity=decision.deliver,
                                       unit_price=row.unit_price))
                total += line_amounts(row.unit_price, decision.deliver, ZERO, False, ZERO)[0]
        self.stats.units_asked += sum(line.quantity for line in requests if line.tracked)
        self.stats.units_handed_over += sum(
            decision.deliver for line, decision in zip(requests, decisions, strict=True)
            if line.tracked)
        if not lines:
            return
        payments = [PaymentInput(amount=total, tender="cash")] if total > 0 else []
        try:
            order_create(user=self.user, order_type=OrderType.SALE, customer_id=None,
                         lines=lines, payments=payments)
        except BackroomError as error:
            self._engine_error("order_create", error, invoice)
            self.stats.reject(rows, f"sale rejected: {error.code}")

    def _count_counter(self, requests: list[LineRequest],
                       decisions: list[LineDecision]) -> None:
        for line, decision in zip(requests, decisions, strict=True):
            if not line.tracked:
                continue
            self.stats.units_asked += line.quantity
            self.stats.units_handed_over += decision.deliver
            if decision.back_order:
                self.stats.units_back_ordered += decision.back_order
                self.stats.back_order_lines += 1

    # ------------------------------------------------------------ cancellations

    def _cancellation(self, invoice: Invoice) -> None:
        """Cancel or return the customer's matching units, newest line first."""
        customer_id = (self.customers.get(invoice.customer) if invoice.customer
                       else self.walk_in_id)
        for row in invoice.rows:
            if not self.items[row.stock_code][1]:
                self.stats.charge_cancellation_lines[row.stock_code] += 1
            units = -row.quantity
            left = units
            if customer_id is not None:
                left = self._take_back(invoice, row, customer_id, units)
            if left:
                self.stats.reject([row], "cancellation without an earlier sale", units=left)
        self._notices_collect()

    def _take_back(self, invoice: Invoice, row: RetailRow, customer_id: int, units: int) -> int:
        """Cancel, then return, up to `units` of the customer's units; return what is left."""
        item_id = self.items[row.stock_code][0]
        # The customer's orders first, then their lines of the item: an item sold
        # all year has thousands of lines, a customer a few orders. Sorted here,
        # since an ORDER BY id makes SQLite walk all of the item's lines instead.
        numbers = dict(sql.value_rows(CUSTOMER_ORDERS_SQL, [customer_id]))
        lines_sql = CUSTOMER_LINES_SQL.format(orders=sql.ids_in('"order_id"'))
        lines = sorted(sql.value_rows(lines_sql, [sql.ids_value(numbers), item_id]),
                       reverse=True)[:MATCH_WINDOW]
        left = units
        for line_id, order_id, ready, back_ordered, delivered in lines:
            number = numbers[order_id]
            cancel = min(left, ready + back_ordered)
            if cancel and self._call("line_cancel", invoice, line_cancel, user=self.user,
                                     number=number, line_id=line_id, quantity=cancel,
                                     refund="original_tender"):
                left -= cancel
                self.stats.cancel_units["units_cancelled"] += cancel
                if self._of_earlier_run(order_id):
                    self.stats.earlier["units_cancelled"] += cancel
            give_back = min(left, delivered)
            if give_back and self._call("line_return", invoice, line_return, user=self.user,
                                        number=number, line_id=line_id, quantity=give_back,
                                        refund="original_tender",
                                        reason=RETURN_REASON.format(invoice=invoice.number)):
                left -= give_back
                self.stats.cancel_units["units_returned"] += give_back
                if self._of_earlier_run(order_id):
                    self.stats.earlier["units_returned"] += give_back
            if not left:
                break
        return left

    # ------------------------------------------------------------ stock adjustments

    def _adjust(self, row: RetailRow) -> None:
        """Count found stock in, or write stock off (no more than is available)."""
        item_id, tracked = self.items[row.stock_code]
        if not tracked:
            self.stats.reject([row], "adjustment of an untracked charge")
            return
        quantity = row.quantity
        if quantity < 0:
            available = max(self._available([item_id]).get(item_id, 0), 0)
            if -quantity > available:
                self.stats.reject([row], "write-off beyond available stock",
                                  units=-quantity - available)
                quantity = -available
            if not quantity:
                return
        reason = row.description or ("Stock found" if quantity > 0 else "Written off")
        if self._call("item_adjust_stock", None, item_adjust_stock, user=self.user,
                      sku=row.stock_code, quantity=quantity, reason=reason):
            self.stats.adjusted_units["found" if quantity > 0 else "written_off"] += abs(quantity)

    # ------------------------------------------------------------ buyer, receiving, pick-up

    def _buyer_run(self, at: datetime.datetime) -> None:
        """Send each vendor with open requests one PO, reorder quantities included."""
        self.stats.buyer_runs += 1
        for code, vendor_id, lead_time in self.vendors:
            reorder_requests_create(user=self.user, vendor_id=vendor_id)
            if not PurchaseRequest.objects.filter(vendor_id=vendor_id, status=RequestStatus.OPEN,
                                                  quantity__gt=0).exists():
                continue
            arrival = at + datetime.timedelta(days=lead_time)
            try:
                # The reorder requests made above join the PO with the customers' ones.
                po = purchase_order_create(user=self.user, vendor=code,
                                           include_purchase_requests=True,
                                           expected_date=arrival.date())
                purchase_order_submit(user=self.user, number=po.number)
            except BackroomError as error:
                self._engine_error("purchase_order_create", error, None)
                continue
            self.stats.purchase_orders += 1
            self._schedule(arrival, "receive", po.number)
        self._schedule(self._next_buyer_run(at), "buyer")

    def _receive(self, number: str) -> None:
        """Receive a PO in full, except the lines picked to arrive short and close short."""
        specs = []
        for line_id, quantity, received in (
                PurchaseOrderLine.objects.filter(purchase_order__number=number, cancelled=False,
                                                 closed_short=False)
                .order_by("pk").values_list("pk", "quantity", "received")):
            open_units = quantity - received
            if open_units <= 0:
                continue
            if zlib.crc32(f"{number}:{line_id}".encode()) % self.policy.short_one_in == 0:
                arrived = int(open_units * self.policy.short_fraction)
                specs.append(ReceiveLineInput(line_id=line_id, quantity=arrived,
                                              close_short=True))
                self.stats.lines_closed_short += 1
                self.stats.units_received += arrived
            else:
                specs.append(ReceiveLineInput(line_id=line_id, quantity=open_units))
                self.stats.units_received += open_units
        if specs and self._call("purchase_order_receive", None, purchase_order_receive,
                                user=self.user, number=number, lines=specs):
            self.stats.receipts += 1
        self._notices_collect()

    def _pickup(self, order_id: int, number: str) -> None:
        """Hand over a ready order, collecting its balance by card."""
        found = sql.value_rows(ORDER_BALANCE_SQL, [order_id], _ORDER_BALANCE_FIELDS)
        if not found or found[0][0] != OrderStatus.READY:
            self.stats.pickups_skipped += 1
            return
        _, total, paid = found[0]
        balance = total - paid
        payments = [PaymentInput(amount=balance, tender="card")] if balance > 0 else []
        if self._call("order_deliver", None, order_deliver, user=self.user, number=number,
                      payments=payments):
            self.stats.pickups += 1
            if self._of_earlier_run(order_id):
                self.stats.earlier["pickups"] += 1

    def _notices_collect(self) -> None:
        """Count new receiving notices; schedule the pick-up of orders that became ready."""
        now = self._now()
        notices = sql.value_rows(NOTICES_AFTER_SQL, [self.last_notice_id])
        for pk, order_id, number, quantity, status, source in notices:
            self.last_notice_id = pk
            self.stats.notices[source] += 1
            self.stats.notice_units[source] += quantity
            if self._of_earlier_run(order_id):
                self.stats.earlier["units_filled"] += quantity
            if status != OrderStatus.READY or order_id in self.picked:
                continue
            self.picked.add(order_id)
            since = self.waiting_since.pop(order_id, None)
            if since is not None:
                self.stats.days_waited.append((now - since).total_seconds() / 86400)
            self._schedule(now + self.policy.pickup_delay, "pickup", (order_id, number))

    # ------------------------------------------------------------ errors

    def _call(self, action: str, invoice: Invoice | None, service, **kwargs) -> bool:
        """Call a service; count and log a BackroomError instead of stopping the replay."""
        try:
            service(**kwargs)
        except BackroomError as error:
            self._engine_error(action, error, invoice)
            return False
        return True

    def _engine_error(self, action: str, error: BackroomError,
                      invoice: Invoice | None) -> None:
        self.stats.engine_error(action, error.code)
        logger.debug("%s failed%s: %s (%s)", action,
                     f" on invoice {invoice.number}" if invoice else "", error.detail, error.code)


@contextmanager
def _savepoint_journals_in_memory() -> Iterator[None]:
    """On SQLite, keep the journal of each savepoint in memory instead of a temporary file.

    Every service call of a batch is a savepoint. In one measurement of the
    whole year, the temporary files cost about 60 s of 390 s. The setting is
    undone before the timestamps move, because the journal of those UPDATEs of
    millions of rows would then take hundreds of megabytes of memory.
    """
    # SQLite rejects the change inside a transaction, as when a test wraps the replay in one.
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA temp_store=MEMORY")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA temp_store=DEFAULT")


def _timed_batches(values: Iterator[Any], seconds: float) -> Iterator[Iterator[Any]]:
    """Split `values` into runs that each take about `seconds` to consume."""
    while (first := next(values, _END)) is not _END:
        yield _run_until(first, values, time.monotonic() + seconds)


def _run_until(first: Any, values: Iterator[Any], deadline: float) -> Iterator[Any]:
    yield first
    while time.monotonic() < deadline and (value := next(values, _END)) is not _END:
        yield value


_END = object()
