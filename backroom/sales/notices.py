"""The "ready for pick-up" e-mail to customers.

The order is marked notified inside the transaction that made it ready. The
mail goes out after the commit, so no SMTP call runs while rows are locked.
By default it goes from a background thread, so a receipt that readies a
thousand orders does not make the clerk wait for a thousand sends. A failed
send clears the mark again and is logged.
"""

import datetime
import logging
import os
import queue
import threading
import time
from collections.abc import Iterable
from decimal import Decimal
from functools import partial
from typing import NamedTuple

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.utils import timezone

from backroom.core.audit import AuditLog
from backroom.core.sql import execute, fetch_all, field, ids_in, ids_value, value_rows
from backroom.sales.models import Order, OrderStatus

logger = logging.getLogger(__name__)


# The order's customer accepts e-mail: an address, consent to notices, and not the
# walk-in customer.
CUSTOMER_ACCEPTS_EMAIL = """EXISTS (
        SELECT 1 FROM "customers_customer"
        WHERE "customers_customer"."id" = "sales_order"."customer_id"
            AND "customers_customer"."email" <> '' AND "customers_customer"."notify"
            AND NOT "customers_customer"."is_walk_in")"""

# Sets the notice time of the orders among the ids whose customer accepts e-mail and
# returns their ids. Parameters: the time, the ids.
ORDERS_NOTIFIED_SET = f"""
    UPDATE "sales_order" SET "notified_at" = %s
    WHERE {{ids_in}} AND {CUSTOMER_ACCEPTS_EMAIL}
    RETURNING "id"
"""


# Clears the notice time of the orders among the ids that are no longer ready and
# returns their ids. Parameters: the ids, the ready status.
ORDERS_NOT_READY_UNMARK = """
    UPDATE "sales_order" SET "notified_at" = NULL
    WHERE {ids_in} AND "status" <> %s AND "notified_at" IS NOT NULL
    RETURNING "id"
"""

# Sets the notice time of the ready orders whose notice never went out, and returns
# their ids. Their customer accepts e-mail and no notice was sent. Either a send failed
# (the mark was cleared), or the mark is older than the cut-off: the process that had
# it queued stopped. Parameters: the time, the ready status, the cut-off.
ORDERS_UNNOTIFIED_MARK = f"""
    UPDATE "sales_order" SET "notified_at" = %s
    WHERE "status" = %s AND {CUSTOMER_ACCEPTS_EMAIL}
        AND NOT EXISTS (
            SELECT 1 FROM "core_event" WHERE "core_event"."order_id" = "sales_order"."id"
                AND "core_event"."action" = 'customer_notified')
        AND (("notified_at" IS NULL AND EXISTS (
                SELECT 1 FROM "core_event"
                WHERE "core_event"."order_id" = "sales_order"."id"
                    AND "core_event"."action" = 'notice_failed'))
            OR "notified_at" < %s)
    RETURNING "id"
"""
# A notice still unsent this long after its order was marked was lost with its process.
LOST_AFTER = datetime.timedelta(minutes=10)


def ready_notices_catch_up() -> tuple[int, int]:
    """Send the ready notices that never went out: a send that failed, or one still
    queued when its process stopped. Return how many were due and how many went out."""
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    with transaction.atomic():
        due = sorted(order_id for order_id, in fetch_all(
            ORDERS_UNNOTIFIED_MARK, [adapt(now), OrderStatus.READY, adapt(now - LOST_AFTER)]))
    return len(due), ready_notices_send(due)


def ready_notices_schedule(orders: Iterable[Order]) -> None:
    """Mark orders that just turned ready as notified and send their e-mail after commit."""
    now = timezone.now()
    orders = [order for order in orders if order.notified_at is None]
    if not orders:
        return
    notified = {order_id for order_id, in fetch_all(
        ORDERS_NOTIFIED_SET.format(ids_in=ids_in('"id"')),
        [connection.ops.adapt_datetimefield_value(now), ids_value(order.pk for order in orders)])}
    due = [order for order in orders if order.pk in notified]
    if not due:
        return
    for order in due:
        order.notified_at = now
    transaction.on_commit(partial(_ready_notices_dispatch, [order.pk for order in due]))


class _Sender:
    """One thread per process that sends, in turn, the ready notices of committed changes.

    It keeps its database connection between batches. It closes the connection and
    ends when no batch has come for `IDLE_SECONDS`, or once the batches handed over
    before a `wait` are sent. A thread and a new connection for every receipt cost
    the clerk's process more than the notices themselves.
    """

    IDLE_SECONDS = 30.0
    # A connection idle for longer is checked before use: the database may have dropped it.
    CHECK_AFTER_SECONDS = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[list[int] | threading.Event] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._given_up = False

    def submit(self, item: "list[int] | threading.Event") -> None:
        with self._lock:
            self._queue.put(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ready-notices",
                                                daemon=True)
                self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every batch handed over so far is sent and the thread has closed its
        connection; return False if `timeout` ran out first.

        After a wait that ran out, later ones return False at once: a process that
        is stopping waits once, not once per caller.
        """
        with self._lock:
            if self._thread is None:
                return True
            if self._given_up:
                return False
        done = threading.Event()
        self.submit(done)
        if done.wait(timeout):
            return True
        self._given_up = True
        return False

    def forget(self) -> None:
        """Drop the thread and the batches of the parent process (in a forked child)."""
        self._lock = threading.Lock()
        self._queue = queue.SimpleQueue()
        self._thread = None
        self._given_up = False

    def _run(self) -> None:
        last_used = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                item = None
            if item is None or isinstance(item, threading.Event):
                connection.close()
                with self._lock:
                    ended = self._queue.empty()
                    if ended:
                        self._thread = None
                        self._given_up = False
                if item is not None:
                    item.set()
                if ended:
                    return
                continue
            if (time.monotonic() - last_used > self.CHECK_AFTER_SECONDS
                    and connection.connection is not None and not connection.is_usable()):
                connection.close()
            try:
                ready_notices_send(item)
            except Exception:
                logger.exception("sending ready notices for orders %s failed", item)
                connection.close()
            last_used = time.monotonic()


_sender = _Sender()
# Seconds a stopping process gives the ready notices it still has to send (gunicorn
# kills a server worker that takes more than 30 s to stop).
EXIT_GRACE_SECONDS = 20
os.register_at_fork(after_in_child=_sender.forget)


def _ready_notices_dispatch(order_ids: list[int]) -> None:
    if not getattr(settings, "BACKROOM_NOTICES_IN_BACKGROUND", True):
        ready_notices_send(order_ids)
        return
    _sender.submit(order_ids)


def ready_notices_wait(timeout: float | None = None) -> bool:
    """Wait for the ready notices sent in the background (before a process exits); return
    False if `timeout` ran out first."""
    return _sender.wait(timeout)


def ready_notices_send(order_ids: list[int]) -> int:
    """Send the ready notice of each order over one mail connection; return how many
    went out."""
    if not order_ids:
        return 0
    if _no_longer_ready(order_ids) == set(order_ids):
        return 0
    currency = _currency()
    orders = _notice_orders(order_ids)
    ready_lines = _ready_lines(order_ids)
    audit = AuditLog(None)
    sent = 0
    mail = _mail_connection()
    try:
        for index, order in enumerate(orders):
            # A slow mail server can take seconds per message: each order is checked
            # again just before its own, except the first, read a moment ago.
            if index and _no_longer_ready([order.order_id]):
                continue
            sent += _notice_send(order, ready_lines.get(order.order_id, []), mail, audit,
                                 reminder=False, currency=currency)
            # Recorded at once: a process stopped later in the batch leaves each sent
            # notice on record, so `ready_notices_catch_up` does not send it again.
            # NOTE: a process killed between a send and this record sends it twice.
            audit.flush()
    finally:
        mail.close()
        audit.flush()
    return sent


def _no_longer_ready(order_ids: list[int]) -> set[int]:
    """Clear the notice mark of those of the orders that are no longer ready, and return
    their ids.

    Such an order was handed over, voided or put back to waiting since it turned
    ready. It gets no notice now, and one if it turns ready again.
    """
    unmarked = {order_id for order_id, in fetch_all(
        ORDERS_NOT_READY_UNMARK.format(ids_in=ids_in('"id"')),
        [ids_value(order_ids), OrderStatus.READY])}
    if unmarked:
        logger.info("ready notices for orders %s not sent: no longer ready", sorted(unmarked))
    return unmarked


def _reminder_send(order_id: int, currency: str) -> tuple[str, bool] | None:
    """Send one ready order's reminder; return the order's number and whether the
    reminder went out, or None when the order is no longer ready."""
    found = _notice_orders([order_id])
    if not found:
        return None
    [order] = found
    lines = _ready_lines([order_id]).get(order_id, [])
    audit = AuditLog(None)
    mail = _mail_connection()
    try:
        sent = _notice_send(order, lines, mail, audit, reminder=True, currency=currency)
    finally:
        mail.close()
        audit.flush()
    return order.number, sent


def _mail_connection() -> BaseEmailBackend:
    """Return a mail connection, opened if the server accepts it.

    When it cannot be opened, each message tries again when it is sent, and
    its failure is logged and recorded on its own order.
    """
    mail = get_connection()
    try:
        mail.open()
    except OSError as error:
        logger.warning("mail server connection failed, retrying per message: %s", error)
    return mail


class _NoticeOrder(NamedTuple):
    """The columns of an order and its customer that a ready notice shows."""

    order_id: int
    number: str
    total: Decimal
    paid: Decimal
    customer_name: str
    email: str


def _notice_orders(order_ids: list[int]) -> list[_NoticeOrder]:
    """Read what the notices of those of these orders that are ready show, in order id
    order."""
    rows = value_rows(
        'SELECT "sales_order"."id", "sales_order"."number", "sales_order"."total", '
        '"sales_order"."paid", "customers_customer"."name", "customers_customer"."email" '
        'FROM "sales_order" INNER JOIN "customers_customer" '
        'ON "customers_customer"."id" = "sales_order"."customer_id" WHERE '
        + ids_in('"sales_order"."id"')
        + ' AND "sales_order"."status" = %s ORDER BY "sales_order"."id"',
        [ids_value(order_ids), OrderStatus.READY],
        [None, None, field(Order, "total"), field(Order, "paid"), None, None])
    return [_NoticeOrder(*row) for row in rows]


def _ready_lines(order_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """Read the ready units and description of the orders' lines with units ready, by order
    id, in position order."""
    ready_lines: dict[int, list[tuple[int, str]]] = {}
    for order_id, ready, description in value_rows(
            'SELECT "order_id", "ready", "description" FROM "sales_orderline" WHERE '
            + ids_in('"order_id"') + ' AND "ready" > 0 ORDER BY "order_id", "position"',
            [ids_value(order_ids)], [None, None, None]):
        ready_lines.setdefault(order_id, []).append((ready, description))
    return ready_lines


def _notice_send(order: _NoticeOrder, lines: list[tuple[int, str]], mail: BaseEmailBackend,
                 audit: AuditLog, *, reminder: bool, currency: str) -> bool:
    items = "\n".join(f"  {ready} x {description}" for ready, description in lines)
    subject = (f"Reminder: your order {order.number} is waiting for you" if reminder
               else f"Your order {order.number} is ready for pick-up")
    body = (
        f"Hello {order.customer_name},\n\n"
        f"Your order {order.number} is ready for pick-up:\n{items}\n\n"
        f"Balance due: {order.total - order.paid} {currency}\n"
    )
    message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [order.email],
                           connection=mail)
    try:
        message.send()
    except Exception as error:
        # Network errors, and addresses the mail library cannot encode (a domain label
        # too long for IDNA): either way this order fails alone, not the batch.
        logger.error("ready notice for order %s to %s failed: %r",
                     order.number, order.email, error)
        if not reminder:
            Order.objects.filter(pk=order.order_id).update(notified_at=None)
        audit.add("reminder_failed" if reminder else "notice_failed", order=order.order_id,
                  error=str(error))
        return False
    audit.add("reminder_sent" if reminder else "customer_notified", order=order.order_id,
              email=order.email)
    logger.info("sent ready notice for order %s", order.number)
    return True


def _currency() -> str:
    from backroom.core.models import StoreSettings

    return StoreSettings.load().currency


def ready_reminders_send(*, now=None) -> tuple[list[str], int]:
    """Remind customers of ready orders uncollected for the store's reminder days.

    Each order is claimed (its reminder time set) before its reminder is sent, so two
    runs at once never remind it twice, and a failed send clears the claim. Returns
    the numbers of the orders reminded and how many sends failed.
    """
    from backroom.core.models import StoreSettings

    now = now or timezone.now()
    days = StoreSettings.load().ready_reminder_days
    if days == 0:
        return [], 0
    adapt = connection.ops.adapt_datetimefield_value
    with transaction.atomic():
        due = sorted(order_id for order_id, in fetch_all(
            ORDERS_REMINDER_CLAIM,
            [adapt(now), OrderStatus.READY, adapt(now - datetime.timedelta(days=days))]))
    sent = []
    failed = 0
    currency = _currency()
    for order_id in due:
        result = _reminder_send(order_id, currency)
        if result is not None and result[1]:
            sent.append(result[0])
            continue
        # Not sent: the claim goes, so a later run reminds the order if it is still ready.
        execute('UPDATE "sales_order" SET "reminded_at" = NULL WHERE "id" = %s', [order_id])
        if result is not None:
            failed += 1
    logger.info("sent %d ready reminders", len(sent))
    return sent, failed


# Sets the reminder time of the ready orders due a reminder (ready before the cut-off,
# never reminded, the customer accepts e-mail) and returns their ids. Parameters: the
# time, the ready status, the cut-off.
ORDERS_REMINDER_CLAIM = f"""
    UPDATE "sales_order" SET "reminded_at" = %s
    WHERE "status" = %s AND "ready_at" <= %s AND "reminded_at" IS NULL
        AND {CUSTOMER_ACCEPTS_EMAIL}
    RETURNING "id"
"""
