"""A replay that stops early, one that crashed, and a second run on the same database."""

import contextlib
import datetime
import fcntl
import gzip
import json
import os
import signal
import threading
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.db.models import Sum
from django.utils import timezone

from backroom.catalog.models import Item
from backroom.core.errors import BackroomError
from backroom.customers.models import Customer
from backroom.replay import runner, runs, store
from backroom.replay.models import ReplayRun
from backroom.replay.source import SOURCE_TIME_ZONE
from backroom.sales.models import Order, Payment
from backroom.sales.totals import delivered_value

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
# Five sales on two days, each to its own customer: one order per invoice.
ROWS = (
    "536365,85123A,MUG,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n",
    "536366,22633,GLOVES,2,2010-12-01 08:28:00,1.85,17851,United Kingdom\n",
    "536367,85123A,MUG,3,2010-12-01 08:34:00,2.55,17852,United Kingdom\n",
    "536368,22633,GLOVES,1,2010-12-02 09:00:00,1.85,17853,United Kingdom\n",
    "536369,85123A,MUG,2,2010-12-02 10:15:00,2.55,17854,United Kingdom\n",
)
FIRST_DAY = datetime.date(2010, 12, 1)


class Crash(BaseException):
    """Stops the replay the way a kill -9 does: no handler of the replay catches it."""


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "log.csv.gz"
    path.write_bytes(gzip.compress((HEADER + "".join(ROWS)).encode(), mtime=0))
    return path


@pytest.fixture
def batch_per_invoice(monkeypatch):
    """Commit after every invoice, so that an interruption keeps the invoices before it."""
    monkeypatch.setattr(runner, "COMMIT_SECONDS", 0)


def stop_at_invoice(monkeypatch, number: int, stop) -> None:
    """Call `stop()` when the replay starts its `number`th invoice (counting from 1)."""
    replay_invoice = runner.Replay._invoice
    seen = []

    def invoice(self, current):
        seen.append(current.number)
        if len(seen) == number:
            stop()
        replay_invoice(self, current)

    monkeypatch.setattr(runner.Replay, "_invoice", invoice)


def raise_(error: BaseException):
    def stop():
        raise error
    return stop


def send_sigterm():
    os.kill(os.getpid(), signal.SIGTERM)


def order_days() -> set[datetime.date]:
    return {order.created_at.astimezone(SOURCE_TIME_ZONE).date()
            for order in Order.objects.all()}


def replay(source, *args: str) -> str:
    """Run the replay command; return what it printed."""
    with open(source.parent / "out.txt", "w") as output:
        call_command("replay", str(source), *args, "-v", "0", stdout=output)
    return (source.parent / "out.txt").read_text()


@pytest.mark.parametrize(("stop", "status", "words", "interruption"), [
    (raise_(KeyboardInterrupt()), 130, "Interrupted after", "stopped by Ctrl+C (SIGINT)"),
    (send_sigterm, 143, "Interrupted by SIGTERM after", "stopped by SIGTERM"),
    (raise_(BackroomError("The engine failed.")), 1,
     "The replay stopped on an engine error: The engine failed. It stopped after",
     "stopped by an engine error: The engine failed."),
], ids=["Ctrl+C", "SIGTERM", "engine error"])
@pytest.mark.django_db
def test_interrupted_run_keeps_restamped_batches(source, batch_per_invoice, monkeypatch,
                                                 quiet_mail, stop, status, words,
                                                 interruption):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers need the main thread")
    stop_at_invoice(monkeypatch, 4, stop)
    output = source.parent / "out.txt"
    handler = signal.getsignal(signal.SIGTERM)

    with pytest.raises(CommandError) as raised, open(output, "w") as printed:
        call_command("replay", str(source), "-v", "0", stdout=printed)

    assert raised.value.returncode == status
    assert str(raised.value) == (
        f"{words} invoice 536367 of 2010-12-01 08:34 (3 of 5 invoices); the database holds "
        "the replay up to there, with dates in the simulated year. To go on in this "
        "database, replay with --from 2010-12-02 (the rest of 2010-12-01 is then left out); "
        f"to replay the whole selection, {runs.OWN_DATABASE}.")
    assert signal.getsignal(signal.SIGTERM) is handler
    assert Order.objects.count() == 3
    assert order_days() == {FIRST_DAY}
    assert {item.created_at.astimezone(SOURCE_TIME_ZONE).date()
            for item in Item.objects.all()} == {FIRST_DAY}
    run = ReplayRun.objects.get()
    assert run.interrupted_at is not None
    assert run.finished_at is None
    assert run.interruption == interruption
    assert (run.invoices_committed, run.last_invoice) == (3, "536367")
    report = json.loads(output.read_text())
    assert report["status"] == "interrupted"
    assert report["invoices"]["committed"] == 3
    assert report["simulated"]["last"] == "2010-12-01T08:34:00+00:00"
    assert report["timing"]["rows_restamped"] > 0


@pytest.mark.django_db
def test_interrupt_during_catalog_writes_nothing(source, monkeypatch, quiet_mail):
    def catalog_build(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "catalog_build", catalog_build)

    with pytest.raises(CommandError, match="Interrupted before the replay wrote anything") \
            as raised:
        replay(source)

    assert raised.value.returncode == 130
    assert not ReplayRun.objects.exists()
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_crashed_run_restamped_then_rejects(source, batch_per_invoice, monkeypatch,
                                           quiet_mail):
    stop_at_invoice(monkeypatch, 4, raise_(Crash()))
    with pytest.raises(Crash):
        replay(source)
    monkeypatch.undo()
    # What the crash leaves: three committed invoices with the real clock's dates.
    assert Order.objects.count() == 3
    assert order_days() == {timezone.now().astimezone(SOURCE_TIME_ZONE).date()}
    run = ReplayRun.objects.get()
    assert run.unfinished
    # Written after the crash by someone else, so it keeps its date.
    later = Customer.objects.create(name="Walked in later", email="later@example.com")

    with pytest.raises(CommandError) as raised:
        replay(source)

    started = timezone.localtime(run.started_at)
    assert str(raised.value) == (
        f"Replay run {run.pk} of log.csv.gz, started {started:%Y-%m-%d %H:%M %Z}, ended "
        "without recording it (a crash or kill -9). It stopped after invoice 536367 of "
        "2010-12-01 08:34 (3 of 5 invoices); the database holds the replay up to there, "
        "with dates in the simulated year; it is now marked interrupted. This replay wrote "
        "nothing. To go on in this database, replay with --from 2010-12-02 (the rest of "
        f"2010-12-01 is then left out); to replay the whole selection, {runs.OWN_DATABASE}.")
    assert Order.objects.count() == 3
    assert order_days() == {FIRST_DAY}
    run.refresh_from_db()
    assert run.interrupted_at is not None
    assert run.interruption == "ended without recording it (a crash or kill -9)"
    assert run.report["invoices"]["committed"] == 3
    assert ReplayRun.objects.count() == 1
    later_created = Customer.objects.get(pk=later.pk).created_at
    assert later_created == later.created_at


@pytest.mark.django_db
def test_crashed_run_restamped_without_file(source, batch_per_invoice, monkeypatch,
                                            quiet_mail):
    stop_at_invoice(monkeypatch, 4, raise_(Crash()))
    with pytest.raises(Crash):
        replay(source)
    monkeypatch.undo()
    run = ReplayRun.objects.get()
    missing = source.parent / "missing.csv.gz"

    with pytest.raises(CommandError) as raised:
        replay(missing)

    assert str(raised.value).startswith(
        f"Replay run {run.pk} of log.csv.gz, started ")
    assert "It stopped after invoice 536367 of 2010-12-01 08:34 (3 of 5 invoices)" \
        in str(raised.value)
    assert order_days() == {FIRST_DAY}
    run.refresh_from_db()
    assert run.interrupted_at is not None

    with pytest.raises(CommandError) as raised:
        replay(missing)

    assert str(raised.value) == (f"File {missing} not found; give the path of the .csv.gz "
                                 "file.")


@pytest.mark.django_db
def test_restamp_moves_rows_written_meanwhile(source, monkeypatch, quiet_mail):
    # A customer added by someone else while the replay runs, as from a second shell.
    # No column marks the rows the replay wrote, so it moves into the simulated year too.
    added = []
    stop_at_invoice(monkeypatch, 4, lambda: added.append(
        Customer.objects.create(name="Added meanwhile", email="meanwhile@example.com")))

    replay(source)

    meanwhile = Customer.objects.get(pk=added[0].pk)
    # The fourth invoice's time: the last mark before the customer was written.
    assert meanwhile.created_at == datetime.datetime(2010, 12, 2, 9, 0, tzinfo=SOURCE_TIME_ZONE)


@pytest.mark.django_db
def test_unfinished_run_without_progress_keeps_dates(source, quiet_mail):
    run = ReplayRun.objects.create(source="log.csv.gz")
    item = Item.objects.create(sku="85123A", description="MUG", price=2)
    created = item.created_at

    with pytest.raises(CommandError, match=(
            f"Replay run {run.pk} of log.csv.gz, started .*, ended without recording it or "
            "its progress, so the rows it committed keep the real clock's dates; it is now "
            "marked interrupted. This replay wrote nothing. Replay into a database of its "
            "own")):
        replay(source)

    run.refresh_from_db()
    assert run.interrupted_at is not None
    assert Item.objects.get().created_at == created
    assert not Order.objects.exists()


@contextlib.contextmanager
def replay_lock_held_elsewhere(tmp_path, monkeypatch):
    """Hold the replay lock of the test database as another process would."""
    if connection.vendor == "postgresql":
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [runs.LOCK_KEY])
            yield
        finally:
            other.close()
        return
    # The test database is in memory, which has no lock file: give it one.
    path = tmp_path / "backroom.sqlite3-replay.lock"
    monkeypatch.setattr(runs, "lock_path", lambda: path)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield


@pytest.mark.django_db
def test_running_replay_rejects_second(source, tmp_path, monkeypatch, quiet_mail):
    running = ReplayRun.objects.create(source="log.csv.gz", last_commit_at=timezone.now())

    with replay_lock_held_elsewhere(tmp_path, monkeypatch), pytest.raises(
            CommandError, match=f"Another replay is running on this database \\(run "
                                f"{running.pk} of log.csv.gz, started .*\\); this one wrote "
                                "nothing. Wait for it to end or stop it with Ctrl\\+C"):
        replay(source)

    running.refresh_from_db()
    assert running.unfinished
    assert ReplayRun.objects.count() == 1
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_overlapping_run_rejected(source, quiet_mail):
    replay(source, "--to", "2010-12-01")
    first = ReplayRun.objects.get()

    with pytest.raises(CommandError) as raised:
        replay(source)

    assert str(raised.value) == (
        f"Replay run {first.pk} already replayed the invoices from 2010-12-01 08:26 to "
        "2010-12-01 08:34 into this database; this selection, from 2010-12-01 08:26 to "
        "2010-12-02 10:15, overlaps them and would add them again. Replay with --from "
        f"2010-12-02 or later, or {runs.OWN_DATABASE}.")
    assert ReplayRun.objects.count() == 1
    assert Order.objects.count() == 3


@pytest.mark.django_db
def test_overlapping_interrupted_run_rejected(source, batch_per_invoice, monkeypatch,
                                              quiet_mail):
    stop_at_invoice(monkeypatch, 2, raise_(KeyboardInterrupt()))
    with pytest.raises(CommandError, match="Interrupted after invoice 536365"):
        replay(source)
    monkeypatch.undo()

    with pytest.raises(CommandError, match=(
            "Replay run [0-9]+ \\(interrupted\\) already replayed the invoices from "
            "2010-12-01 08:26 to 2010-12-01 08:26 into this database")):
        replay(source, "--invoices", "3")

    assert ReplayRun.objects.count() == 1
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_later_run_accepted(source, quiet_mail):
    replay(source, "--to", "2010-12-01")

    report = json.loads(replay(source, "--from", "2010-12-02"))

    assert report["orders"]["created"] == 2
    assert Order.objects.count() == 5
    assert order_days() == {FIRST_DAY, FIRST_DAY + datetime.timedelta(days=1)}
    assert [run.finished_at is not None for run in ReplayRun.objects.order_by("pk")] \
        == [True, True]


@pytest.mark.django_db
def test_migration_copies_range_from_report():
    range_from_reports = __import__(
        "backroom.replay.migrations.0002_run_progress",
        fromlist=["range_from_reports"]).range_from_reports
    run = ReplayRun.objects.create(
        source="online_retail.csv.gz", finished_at=timezone.now(),
        report={"simulated": {"first": "2010-12-01T08:26:00+00:00",
                              "last": "2010-12-02T19:59:00+00:00"},
                "invoices": {"blocks": 250}})

    range_from_reports(apps, None)

    run.refresh_from_db()
    assert run.first_invoice_at == datetime.datetime(2010, 12, 1, 8, 26, tzinfo=datetime.UTC)
    assert run.last_invoice_at == datetime.datetime(2010, 12, 2, 19, 59, tzinfo=datetime.UTC)
    assert run.invoices_committed == 250
    assert runs.overlap_rejection_reason(run.last_invoice_at, run.last_invoice_at) is not None


@pytest.mark.django_db
def test_later_run_rejects_orders_made_between(source, owner, quiet_mail):
    replay(source, "--to", "2010-12-01")
    with open(source.parent / "demo.txt", "w") as output:
        call_command("demo", stdout=output)
    demo_orders = Order.objects.exclude(created_by__username="replay")
    first = demo_orders.order_by("pk").first()
    count = Order.objects.count()

    with pytest.raises(CommandError) as raised:
        replay(source, "--from", "2010-12-02")

    assert str(raised.value) == (
        f"This store already has {demo_orders.count()} orders that no replay made (the "
        f"first is order {first.number}, created by {owner.username}). "
        f"{store.OWN_DATABASE}")
    assert Order.objects.count() == count
    assert ReplayRun.objects.count() == 1


def deposits_held_in_database() -> Decimal:
    held = Decimal("0.00")
    for order in Order.objects.filter(status__in=["waiting", "ready"]):
        held += max(order.paid - delivered_value(order.lines.all()), Decimal("0.00"))
    return held


# Keys from 1: whether a PO line arrives short depends on the PO number and the line id,
# and PostgreSQL's sequences keep counting across tests.
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_second_run_counts_money_on_earlier_orders(tmp_path, quiet_mail):
    # Run 1 sells mugs and back-orders 20,000 gloves. Run 2 takes two mugs back and
    # receives the gloves, so the first run's customers get a refund and pick up.
    path = tmp_path / "two.csv.gz"
    path.write_bytes(gzip.compress((
        HEADER
        + "536365,85123A,MUG,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
        + "536366,22633,GLOVES,20000,2010-12-01 08:28:00,1.85,17851,United Kingdom\n"
        + "C536367,85123A,MUG,-2,2010-12-02 09:00:00,2.55,17850,United Kingdom\n"
        + "536368,85123A,MUG,3,2010-12-02 10:00:00,2.55,17852,United Kingdom\n"
    ).encode(), mtime=0))
    first = json.loads(replay(path, "--to", "2010-12-01"))
    glove_order = Order.objects.get(customer__external_id="17851")
    assert glove_order.status == "waiting"
    back_ordered = glove_order.lines.get().back_ordered

    second = json.loads(replay(path, "--from", "2010-12-02", "--settle-days", "40"))

    payments = Payment.objects.filter(voided_at__isnull=True)
    taken = payments.filter(kind="payment").aggregate(total=Sum("amount"))["total"]
    refunded = payments.filter(kind="refund").aggregate(total=Sum("amount"))["total"]
    assert Decimal(first["money"]["taken"]) + Decimal(second["money"]["taken"]) == taken
    assert Decimal(first["money"]["refunded"]) + Decimal(second["money"]["refunded"]) \
        == refunded
    assert Decimal(second["money"]["deposits_held"]) \
        + Decimal(second["earlier_orders"]["deposits_held"]) == deposits_held_in_database()
    earlier = second["earlier_orders"]
    assert earlier["refunded"] == "5.10"
    assert earlier["units_returned"] == 2
    assert earlier["units_cancelled"] == 0
    assert earlier["pickups"] == 1
    assert earlier["units_filled"] == back_ordered
    assert Decimal(earlier["taken"]) == glove_order.total - glove_order.paid
    assert second["cancellations"]["units_returned"] == 2
    assert second["pickups"]["orders"] == 1
    assert second["back_orders"]["units_filled"] + earlier["units_filled"] \
        == second["receiving_notices"]["units"]
    assert first["orders"]["created"] + second["orders"]["created"] == Order.objects.count()
    assert Order.objects.get(pk=glove_order.pk).status == "delivered"
