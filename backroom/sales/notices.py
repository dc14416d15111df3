"""The "ready for pick-up" e-mail to customers.

The order is marked notified inside the transaction that made it ready. The
mail goes out after the commit, so no SMTP call runs while rows are locked.
By default it goes from a background thread, so a receipt that readies a
thousand orders does not make the clerk wait for a thousand sends. A failed
send clears the mark again and is logged.
"""

import logging
import threading
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.utils import timezone

from backroom.core.audit import AuditLog
from backroom.customers.models import Customer
from backroom.sales.models import Order, OrderLine

logger = logging.getLogger(__name__)


def can_notify(order: Order, customer: Customer | None = None) -> bool:
    customer = customer or order.customer
    return bool(customer.email) and customer.notify and not customer.is_walk_in


def ready_notices_schedule(orders: Iterable[Order]) -> None:
    """Mark orders that just turned ready as notified and send their e-mail after commit."""
    now = timezone.now()
    orders = [order for order in orders if order.notified_at is None]
    customers = Customer.objects.in_bulk({order.customer_id for order in orders})
    due = [order for order in orders if can_notify(order, customers[order.customer_id])]
    if not due:
        return
    Order.objects.filter(pk__in=[order.pk for order in due]).update(notified_at=now)
    for order in due:
        order.notified_at = now
    transaction.on_commit(partial(_ready_notices_dispatch, [order.pk for order in due]))


_senders: list[threading.Thread] = []


def _ready_notices_dispatch(order_ids: list[int]) -> None:
    if not getattr(settings, "BACKROOM_NOTICES_IN_BACKGROUND", True):
        ready_notices_send(order_ids)
        return
    sender = threading.Thread(target=_send_in_thread, args=(order_ids,),
                              name="ready-notices", daemon=True)
    _senders.append(sender)
    sender.start()


def _send_in_thread(order_ids: list[int]) -> None:
    try:
        ready_notices_send(order_ids)
    except Exception:
        logger.exception("sending ready notices for %d orders failed", len(order_ids))
    finally:
        connection.close()


def ready_notices_wait(timeout: float | None = None) -> None:
    """Wait for the ready notices sent in the background (before a process exits)."""
    while _senders:
        _senders.pop().join(timeout)


def ready_notices_send(order_ids: list[int]) -> int:
    """Send the ready notice of each order over one mail connection; return how many
    went out."""
    if not order_ids:
        return 0
    currency = _currency()
    orders = Order.objects.select_related("customer").filter(pk__in=order_ids).order_by("pk")
    ready_lines: dict[int, list[tuple[int, str]]] = {}
    for order_id, ready, description in (
            OrderLine.objects.filter(order_id__in=order_ids, ready__gt=0)
            .order_by("order_id", "position").values_list("order_id", "ready", "description")):
        ready_lines.setdefault(order_id, []).append((ready, description))
    audit = AuditLog(None)
    sent = 0
    mail = _mail_connection()
    try:
        for order in orders:
            sent += _notice_send(order, ready_lines.get(order.pk, []), mail, audit,
                                 reminder=False, currency=currency)
    finally:
        mail.close()
    audit.flush()
    return sent


def ready_notice_send(order_id: int, reminder: bool = False, currency: str | None = None) -> bool:
    """Send one order's ready notice, or with `reminder` its reminder."""
    order = Order.objects.select_related("customer").get(pk=order_id)
    lines = list(order.lines.filter(ready__gt=0).order_by("position")
                 .values_list("ready", "description"))
    audit = AuditLog(None)
    mail = _mail_connection()
    try:
        sent = _notice_send(order, lines, mail, audit, reminder=reminder,
                            currency=currency or _currency())
    finally:
        mail.close()
    audit.flush()
    return sent


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


def _notice_send(order: Order, lines: list[tuple[int, str]], mail: BaseEmailBackend,
                 audit: AuditLog, *, reminder: bool, currency: str) -> bool:
    items = "\n".join(f"  {ready} x {description}" for ready, description in lines)
    subject = (f"Reminder: your order {order.number} is waiting for you" if reminder
               else f"Your order {order.number} is ready for pick-up")
    body = (
        f"Hello {order.customer.name},\n\n"
        f"Your order {order.number} is ready for pick-up:\n{items}\n\n"
        f"Balance due: {order.total - order.paid} {currency}\n"
    )
    message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [order.customer.email],
                           connection=mail)
    try:
        message.send()
    except OSError as error:
        logger.error("ready notice for order %s to %s failed: %s",
                     order.number, order.customer.email, error)
        if not reminder:
            Order.objects.filter(pk=order.pk).update(notified_at=None)
        audit.add("notice_failed", order=order, error=str(error))
        return False
    audit.add("reminder_sent" if reminder else "customer_notified", order=order,
              email=order.customer.email)
    logger.info("sent ready notice for order %s", order.number)
    return True


def _currency() -> str:
    from backroom.core.models import StoreSettings

    return StoreSettings.load().currency


def ready_reminders_send(*, now=None) -> list[str]:
    """Remind customers of ready orders uncollected for the store's reminder days.

    Each order is reminded once; returns the numbers of the orders reminded.
    """
    from datetime import timedelta

    from backroom.core.models import StoreSettings
    from backroom.sales.models import OrderStatus

    now = now or timezone.now()
    days = StoreSettings.load().ready_reminder_days
    if days == 0:
        return []
    due = (Order.objects.select_related("customer")
           .filter(status=OrderStatus.READY, ready_at__lte=now - timedelta(days=days),
                   reminded_at__isnull=True)
           .order_by("id"))
    sent = []
    for order in due:
        if not can_notify(order):
            continue
        if ready_notice_send(order.pk, reminder=True):
            Order.objects.filter(pk=order.pk).update(reminded_at=now)
            sent.append(order.number)
    logger.info("sent %d ready reminders", len(sent))
    return sent
