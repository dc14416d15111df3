"""Ready notices and reminders, sent to a real SMTP server on loopback."""

import logging
import os
import socket
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from django.db import connection
from django.utils import timezone

from backroom.core.models import Event
from backroom.purchasing.services import (
    ReceiveLineInput,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_submit,
)
from backroom.sales import notices
from backroom.sales.models import Order
from backroom.sales.notices import (
    ready_notices_catch_up,
    ready_notices_wait,
    ready_reminders_send,
)
from backroom.sales.payments import PaymentInput
from backroom.sales.services import LineInput, line_cancel, order_create, order_deliver


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages = []
        # A test that sets `gate` keeps each message waiting until the gate opens.
        # `arrived` is set once a sender is waiting.
        self.gate: threading.Event | None = None
        self.arrived = threading.Event()
        # The gate stops the messages from this one on, counted from 0. `stopped` is set
        # once one waits at the gate.
        self.hold_from = 0
        self.stopped = threading.Event()

    def handle_message(self, message) -> None:
        self.arrived.set()
        if self.gate is not None and len(self.messages) >= self.hold_from:
            self.stopped.set()
            self.gate.wait(30)
        self.messages.append(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def inbox(settings):
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    yield handler
    controller.stop()


def back_order_scarf(owner, customer):
    return order_create(user=owner, order_type="sales_order", customer_id=customer.pk,
                        lines=[LineInput(sku="B", quantity=1)],
                        payments=[PaymentInput(amount=Decimal("30.00"), tender="card")])


def receive_scarf(owner):
    po = purchase_order_create(user=owner, vendor="V", include_purchase_requests=True)
    purchase_order_submit(user=owner, number=po.number)
    purchase_order_receive(user=owner, number=po.number, lines=[
        ReceiveLineInput(line_id=po.lines.get().pk, quantity=1)])


def test_ready_order_emails_customer_once(owner, customer, scarf, inbox,
                                          django_capture_on_commit_callbacks):
    order = back_order_scarf(owner, customer)

    with django_capture_on_commit_callbacks(execute=True):
        receive_scarf(owner)

    order.refresh_from_db()
    assert order.notified_at is not None
    assert len(inbox.messages) == 1
    assert inbox.messages[0]["To"] == "c@example.com"
    assert order.number in inbox.messages[0]["Subject"]
    assert "1 x blue scarf" in inbox.messages[0].get_payload()
    assert Event.objects.filter(order=order, action="customer_notified").count() == 1


def test_customer_without_consent_is_not_notified(owner, customer, scarf, inbox,
                                                  django_capture_on_commit_callbacks):
    customer.notify = False
    customer.save()
    order = back_order_scarf(owner, customer)

    with django_capture_on_commit_callbacks(execute=True):
        receive_scarf(owner)

    order.refresh_from_db()
    assert order.status == "ready"
    assert order.notified_at is None
    assert inbox.messages == []


@pytest.fixture
def no_mail_server(settings):
    """Point the e-mail settings at a loopback port where no server listens."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    settings.EMAIL_TIMEOUT = 2


def test_failed_send_leaves_order_not_notified(owner, customer, scarf, no_mail_server,
                                               django_capture_on_commit_callbacks):
    order = back_order_scarf(owner, customer)

    with django_capture_on_commit_callbacks(execute=True):
        receive_scarf(owner)

    order.refresh_from_db()
    assert order.status == "ready"
    assert order.notified_at is None
    assert Event.objects.filter(order=order, action="notice_failed").exists()


def test_catch_up_sends_notice_that_failed(owner, customer, scarf, settings, no_mail_server,
                                           django_capture_on_commit_callbacks):
    order = back_order_scarf(owner, customer)
    with django_capture_on_commit_callbacks(execute=True):
        receive_scarf(owner)
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_PORT = controller.port
    try:
        first = ready_notices_catch_up()
        second = ready_notices_catch_up()
    finally:
        controller.stop()

    order.refresh_from_db()
    assert first == (1, 1)
    assert second == (0, 0)
    assert len(handler.messages) == 1
    assert order.notified_at is not None


def test_notice_skipped_for_order_handed_over_first(owner, customer, scarf, inbox,
                                                    django_capture_on_commit_callbacks):
    order = back_order_scarf(owner, customer)
    with django_capture_on_commit_callbacks(execute=False) as sends:
        receive_scarf(owner)
    order_deliver(user=owner, number=order.number)

    for send in sends:
        send()

    order.refresh_from_db()
    assert order.status == "delivered"
    assert order.notified_at is None
    assert inbox.messages == []


def ready_eight_days_ago(owner, customer, capture) -> Order:
    """Back-order a scarf for the customer, receive it, and date its readiness 8 days back."""
    order = back_order_scarf(owner, customer)
    with capture(execute=True):
        receive_scarf(owner)
    Order.objects.filter(pk=order.pk).update(ready_at=timezone.now() - timedelta(days=8))
    return order


def test_reminder_after_store_days_sent_once(owner, customer, scarf, inbox,
                                             django_capture_on_commit_callbacks):
    order = ready_eight_days_ago(owner, customer, django_capture_on_commit_callbacks)

    first = ready_reminders_send()
    second = ready_reminders_send()

    assert first == ([order.number], 0)
    assert second == ([], 0)
    assert len(inbox.messages) == 2
    assert inbox.messages[1]["Subject"].startswith("Reminder:")


def test_reminder_not_sent_before_store_days(owner, customer, scarf, inbox,
                                             django_capture_on_commit_callbacks):
    back_order_scarf(owner, customer)
    with django_capture_on_commit_callbacks(execute=True):
        receive_scarf(owner)

    assert ready_reminders_send() == ([], 0)


def test_failed_reminder_claim_released(owner, customer, scarf, no_mail_server, settings,
                                        django_capture_on_commit_callbacks):
    order = ready_eight_days_ago(owner, customer, django_capture_on_commit_callbacks)

    result = ready_reminders_send()

    order.refresh_from_db()
    assert result == ([], 1)
    assert order.reminded_at is None


def test_catch_up_sends_notice_lost_with_its_process(owner, customer, scarf, inbox,
                                                     django_capture_on_commit_callbacks):
    order = back_order_scarf(owner, customer)
    with django_capture_on_commit_callbacks(execute=False):
        receive_scarf(owner)
    # The process that had the notice queued stopped: marked, never sent.
    Order.objects.filter(pk=order.pk).update(notified_at=timezone.now() - timedelta(hours=1))
    fresh = back_order_scarf(owner, customer)
    with django_capture_on_commit_callbacks(execute=False):
        receive_scarf(owner)

    result = ready_notices_catch_up()

    fresh.refresh_from_db()
    assert result == (1, 1)
    assert len(inbox.messages) == 1
    assert inbox.messages[0]["Subject"] == f"Your order {order.number} is ready for pick-up"
    assert fresh.notified_at is not None


def test_catch_up_leaves_orders_ready_at_once(owner, customer, card, inbox):
    order = order_create(user=owner, order_type="sales_order", customer_id=customer.pk,
                         lines=[LineInput(sku="A", quantity=1)],
                         payments=[PaymentInput(amount=Decimal("4.00"), tender="card")])

    result = ready_notices_catch_up()

    order.refresh_from_db()
    assert order.status == "ready"
    assert result == (0, 0)
    assert inbox.messages == []


def test_address_that_cannot_be_sent_fails_alone(owner, customer, scarf, inbox,
                                                 django_capture_on_commit_callbacks):
    from backroom.customers.models import Customer

    odd = Customer.objects.create(name="Odd", email="x@" + "\u00e4" * 60 + ".com")
    first = back_order_scarf(owner, odd)
    second = back_order_scarf(owner, customer)
    with django_capture_on_commit_callbacks(execute=True):
        po = purchase_order_create(user=owner, vendor="V", include_purchase_requests=True)
        purchase_order_submit(user=owner, number=po.number)
        purchase_order_receive(user=owner, number=po.number, lines=[
            ReceiveLineInput(line_id=po.lines.get().pk, quantity=2)])

    first.refresh_from_db()
    second.refresh_from_db()
    assert [message["To"] for message in inbox.messages] == ["c@example.com"]
    assert first.notified_at is None
    assert second.notified_at is not None
    assert Event.objects.filter(order=first, action="notice_failed").exists()


def test_cancelling_awaited_units_notifies(owner, customer, card, scarf, inbox,
                                           django_capture_on_commit_callbacks):
    order = order_create(user=owner, order_type="sales_order", customer_id=customer.pk,
                         lines=[LineInput(sku="A", quantity=1), LineInput(sku="B", quantity=1)],
                         payments=[PaymentInput(amount=Decimal("34.00"), tender="card")])
    scarf_line = order.lines.get(item=scarf)

    with django_capture_on_commit_callbacks(execute=True):
        line_cancel(user=owner, number=order.number, line_id=scarf_line.pk, quantity=1)

    order.refresh_from_db()
    assert order.status == "ready"
    assert order.notified_at is not None
    assert len(inbox.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_notices_sent_from_background_thread(owner, customer, scarf, inbox, settings):
    settings.BACKROOM_NOTICES_IN_BACKGROUND = True
    order = back_order_scarf(owner, customer)

    receive_scarf(owner)
    ready_notices_wait(timeout=30)

    order.refresh_from_db()
    assert order.notified_at is not None
    assert len(inbox.messages) == 1
    assert Event.objects.filter(order=order, action="customer_notified").count() == 1


def sender_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "ready-notices"]


@pytest.mark.django_db(transaction=True)
def test_sender_one_thread_ends_when_idle(
        owner, customer, scarf, inbox, settings, caplog, monkeypatch):
    settings.BACKROOM_NOTICES_IN_BACKGROUND = True
    monkeypatch.setattr(notices._Sender, "IDLE_SECONDS", 0.5)
    caplog.set_level(logging.INFO, logger="backroom.sales.notices")
    inbox.gate = threading.Event()
    first = back_order_scarf(owner, customer)
    receive_scarf(owner)
    # The sender now waits on the mail server, so this thread's writes meet no reader
    # (the in-memory test database of SQLite locks whole tables).
    assert inbox.arrived.wait(30)
    second = back_order_scarf(owner, customer)
    receive_scarf(owner)
    inbox.gate.set()

    deadline = time.monotonic() + 30
    while sender_threads() and time.monotonic() < deadline:
        time.sleep(0.05)

    assert sender_threads() == []
    sent = [record for record in caplog.records if record.msg.startswith("sent ready notice")]
    assert [record.args for record in sent] == [(first.number,), (second.number,)]
    assert len({record.thread for record in sent}) == 1
    assert len(inbox.messages) == 2


@pytest.mark.django_db(transaction=True)
def test_sender_replaces_dropped_connection(
        owner, customer, scarf, inbox, settings, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("only a database server can drop a connection")
    import psycopg

    settings.BACKROOM_NOTICES_IN_BACKGROUND = True
    monkeypatch.setattr(notices._Sender, "CHECK_AFTER_SECONDS", 0.0)
    back_order_scarf(owner, customer)
    receive_scarf(owner)
    deadline = time.monotonic() + 30
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(inbox.messages) == 1
    ours = connection.connection.info.backend_pid
    database = connection.settings_dict
    with psycopg.connect(host=database["HOST"], port=database["PORT"] or 5432,
                         user=database["USER"], dbname=database["NAME"],
                         autocommit=True) as admin:
        dropped = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid NOT IN (%s, pg_backend_pid())",
            [ours]).fetchall()
    assert dropped == [(True,)]

    order = back_order_scarf(owner, customer)
    receive_scarf(owner)
    assert ready_notices_wait(timeout=30)

    assert len(inbox.messages) == 2
    order.refresh_from_db()
    assert order.notified_at is not None


def notice_held_by_mail_server(owner, customer, inbox, settings) -> None:
    """Make an order ready with notices sent in the background, and return once the sender
    waits on the mail server, which keeps the message until `inbox.gate` opens."""
    settings.BACKROOM_NOTICES_IN_BACKGROUND = True
    inbox.gate = threading.Event()
    back_order_scarf(owner, customer)
    receive_scarf(owner)
    assert inbox.arrived.wait(30)


@pytest.mark.django_db(transaction=True)
def test_stopping_server_worker_sends_pending_notices(owner, customer, scarf, inbox, settings):
    from types import SimpleNamespace

    from backroom.core.management.commands.serve import _worker_exit

    notice_held_by_mail_server(owner, customer, inbox, settings)
    threading.Timer(0.5, inbox.gate.set).start()

    _worker_exit(None, SimpleNamespace(pid=os.getpid()))

    assert len(inbox.messages) == 1
    assert sender_threads() == []


@pytest.mark.parametrize(("variables", "expected"), [
    ({"BACKROOM_SMTP_TLS": "True"}, {"EMAIL_USE_TLS": True, "EMAIL_USE_SSL": False,
                                     "EMAIL_PORT": 25}),
    ({"BACKROOM_SMTP_SSL": "yes"}, {"EMAIL_USE_TLS": False, "EMAIL_USE_SSL": True,
                                    "EMAIL_PORT": 465}),
    ({"BACKROOM_SMTP_TLS": "off", "BACKROOM_SMTP_PORT": " 587 "},
     {"EMAIL_USE_TLS": False, "EMAIL_USE_SSL": False, "EMAIL_PORT": 587}),
], ids=["tls in capitals", "ssl default port", "tls off, port with spaces"])
def test_mail_settings_read_switches(monkeypatch, variables, expected):
    from backroom.configuration import mail_settings

    monkeypatch.setenv("BACKROOM_SMTP_HOST", "mail.example.com")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    chosen = mail_settings()

    assert {name: chosen[name] for name in expected} == expected
    assert chosen["EMAIL_HOST"] == "mail.example.com"


@pytest.mark.django_db(transaction=True)
def test_stopping_process_waits_once(owner, customer, scarf, inbox, settings):
    notice_held_by_mail_server(owner, customer, inbox, settings)

    first = ready_notices_wait(timeout=0.2)
    second = ready_notices_wait(timeout=30)
    sent_meanwhile = len(inbox.messages)
    inbox.gate.set()
    deadline = time.monotonic() + 30
    while sender_threads() and time.monotonic() < deadline:
        time.sleep(0.05)

    assert (first, second, sent_meanwhile) == (False, False, 0)
    assert len(inbox.messages) == 1
    assert ready_notices_wait(timeout=30) is True


@pytest.mark.django_db(transaction=True)
def test_each_notice_recorded_before_the_next(owner, customer, scarf, inbox, settings):
    from backroom.customers.models import Customer

    settings.BACKROOM_NOTICES_IN_BACKGROUND = True
    other = Customer.objects.create(name="Customer D", email="d@example.com")
    first = back_order_scarf(owner, customer)
    back_order_scarf(owner, other)
    inbox.gate = threading.Event()
    inbox.hold_from = 1
    po = purchase_order_create(user=owner, vendor="V", include_purchase_requests=True)
    purchase_order_submit(user=owner, number=po.number)
    purchase_order_receive(user=owner, number=po.number, lines=[
        ReceiveLineInput(line_id=po.lines.get().pk, quantity=2)])
    assert inbox.stopped.wait(30)

    recorded = list(Event.objects.filter(action="customer_notified")
                    .values_list("order_id", flat=True))
    inbox.gate.set()
    assert ready_notices_wait(timeout=30)

    assert recorded == [first.pk]
    assert len(inbox.messages) == 2


def test_failed_reminder_sends_no_ready_notice(owner, customer, card, no_mail_server,
                                               settings):
    order = order_create(user=owner, order_type="sales_order", customer_id=customer.pk,
                         lines=[LineInput(sku="A", quantity=1)],
                         payments=[PaymentInput(amount=Decimal("4.00"), tender="card")])
    Order.objects.filter(pk=order.pk).update(ready_at=timezone.now() - timedelta(days=8))
    failed = ready_reminders_send()

    assert failed == ([], 1)
    assert ready_notices_catch_up() == (0, 0)
    assert Event.objects.filter(order=order, action="reminder_failed").count() == 1
