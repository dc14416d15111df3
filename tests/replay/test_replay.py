"""The replay of the real retailer's first invoices, checked against the raw rows."""

import datetime
import gzip
import json
import logging
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection

from backroom.catalog.models import Item, StockAdjustment
from backroom.core.invariants import invariant_violations
from backroom.customers.models import Customer
from backroom.purchasing.models import PurchaseOrder, Receipt
from backroom.replay import runner
from backroom.replay.models import ReplayRun
from backroom.replay.runner import Replay, ReplayOptions, ReplayPolicy
from backroom.replay.source import SOURCE_TIME_ZONE, Invoice, RetailRow
from backroom.sales.models import Order, Payment, PaymentKind

SLICE = 40
UK = ZoneInfo("Europe/London")
CENT = Decimal("0.01")


def _is_adjustment(row: dict[str, str]) -> bool:
    return not row["CustomerID"] and Decimal(row["UnitPrice"]) == 0


def expected_counts(blocks: list[list[dict[str, str]]]) -> Counter:
    """Work out what the replay must report from the raw rows alone.

    Assumes every unit sold is in stock, which the opening-stock policy gives
    for a slice this short; cancellations take back what the same customer
    (or the walk-in counter) bought before, as the replay does.
    """
    expected: Counter = Counter()
    bought: dict[tuple[str, str], int] = defaultdict(int)
    for block in blocks:
        number = block[0]["InvoiceNo"]
        expected["rows"] += len(block)
        if number.startswith("C"):
            for row in block:
                units = -int(row["Quantity"])
                key = (row["CustomerID"], row["StockCode"])
                taken = min(units, bought[key])
                bought[key] -= taken
                expected["taken_back"] += taken
                expected["unmatched"] += units - taken
            continue
        sold = [row for row in block if not _is_adjustment(row)]
        for row in block:
            if _is_adjustment(row):
                expected["found" if int(row["Quantity"]) > 0 else "written_off"] += \
                    abs(int(row["Quantity"]))
        if sold:
            expected["sales_order" if block[0]["CustomerID"] else "sale"] += 1
        for row in sold:
            quantity = int(row["Quantity"])
            price = Decimal(row["UnitPrice"]).quantize(CENT, rounding=ROUND_HALF_UP)
            expected["taken_cents"] += int((price * quantity).quantize(CENT) * 100)
            bought[(row["CustomerID"], row["StockCode"])] += quantity
            if row["StockCode"][:5].isdigit():
                expected["units_asked"] += quantity
            else:
                expected[f"charge:{row['StockCode']}"] += 1
    return expected


@pytest.fixture
def first_invoices(retail_invoices):
    return retail_invoices(SLICE)


@pytest.mark.data
@pytest.mark.django_db
def test_replay_counts_match_raw_rows(retail_path, first_invoices, quiet_mail):
    expected = expected_counts(first_invoices)

    report = Replay(ReplayOptions(path=retail_path, invoices=SLICE, progress=False)).run()

    assert report["invoices"]["distinct"] == len({b[0]["InvoiceNo"] for b in first_invoices})
    assert report["lines"]["read"] == expected["rows"]
    assert report["orders"]["by_type"].get("sales_order", 0) == expected["sales_order"]
    assert report["orders"]["by_type"].get("sale", 0) == expected["sale"]
    assert report["counter"]["units_asked"] == expected["units_asked"]
    assert report["counter"]["fill_rate"] == 1.0
    assert report["back_orders"]["units"] == 0
    charges = {f"charge:{code}": count
               for code, count in report["lines"]["charges_by_code"].items()}
    assert charges == {key: count for key, count in expected.items()
                       if key.startswith("charge:")}
    taken_back = report["cancellations"].get("units_cancelled", 0) \
        + report["cancellations"].get("units_returned", 0)
    assert taken_back == expected["taken_back"]
    unmatched = report["rejected"]["reasons"].get("cancellation without an earlier sale",
                                                  {"units": 0})
    assert unmatched["units"] == expected["unmatched"]
    assert report["stock_adjustments"].get("found", 0) == expected["found"]
    assert report["stock_adjustments"].get("written_off", 0) == expected["written_off"]
    assert Decimal(report["money"]["taken"]) == Decimal(expected["taken_cents"]) / 100
    assert report["engine_errors"] == {}
    assert report["invariant_violations"]["count"] == 0


@pytest.mark.data
@pytest.mark.django_db
def test_replay_moves_timestamps_into_simulated_year(retail_path, first_invoices, quiet_mail):
    first_day = datetime.date(2010, 12, 1)

    Replay(ReplayOptions(path=retail_path, invoices=10, progress=False)).run()

    days = {order.created_at.astimezone(UK).date() for order in Order.objects.all()}
    assert days == {first_day}
    finalized = {order.finalized_at.astimezone(UK).date() for order in Order.objects.all()}
    assert finalized == {first_day}


@pytest.mark.data
@pytest.mark.django_db
def test_replay_without_stock_buys_and_settles(retail_path, retail_invoices, quiet_mail):
    blocks = retail_invoices(12)
    customer_units = sum(int(row["Quantity"]) for block in blocks
                         if block[0]["InvoiceNo"][:1].isdigit() and block[0]["CustomerID"]
                         for row in block if row["StockCode"][:5].isdigit())
    walk_in_units = sum(int(row["Quantity"]) for block in blocks
                        if block[0]["InvoiceNo"][:1].isdigit() and not block[0]["CustomerID"]
                        for row in block
                        if row["StockCode"][:5].isdigit() and not _is_adjustment(row))
    assert not any(_is_adjustment(row) for block in blocks for row in block)

    report = Replay(ReplayOptions(path=retail_path, invoices=12, progress=False,
                                  settle_days=60),
                    ReplayPolicy(opening_stock=False)).run()

    assert report["counter"]["units_handed_over"] == 0
    assert report["counter"]["units_back_ordered"] == customer_units
    assert report["counter"]["walk_in_units_not_in_stock"] == walk_in_units
    assert report["purchasing"]["purchase_orders"] == PurchaseOrder.objects.count()
    assert report["purchasing"]["receipts"] == Receipt.objects.count()
    assert report["purchasing"]["by_status"].get("submitted", 0) == 0
    assert report["back_orders"]["units_still_waiting"] == 0
    assert {status for status, count in report["orders"]["by_status"].items() if count} \
        <= {"delivered", "cancelled"}
    assert report["pickups"]["orders"] == report["days_waited"]["orders"]
    assert report["days_waited"]["orders"] == report["orders"]["by_status"].get("delivered", 0)
    assert report["receiving_notices"]["units"] == customer_units \
        - report["cancellations"].get("units_cancelled", 0)
    assert report["engine_errors"] == {}
    assert [problem for problem in invariant_violations()
            if not problem.startswith("PO line")] == []


@pytest.mark.data
@pytest.mark.django_db
def test_replay_leaves_no_request_on_received_line(retail_path, quiet_mail):
    Replay(ReplayOptions(path=retail_path, invoices=3, progress=False, settle_days=30),
           ReplayPolicy(opening_stock=False)).run()

    assert [problem for problem in invariant_violations()
            if problem.startswith("PO line")] == []


@pytest.mark.data
@pytest.mark.django_db
def test_replay_command_writes_report(retail_path, tmp_path):
    target = tmp_path / "report.json"

    with open(tmp_path / "out.txt", "w") as output:
        call_command("replay", str(retail_path), "--invoices", "3", "--report", str(target),
                     "-v", "0", stdout=output)

    report = json.loads(target.read_text())
    assert report["invoices"]["distinct"] == 3
    assert report["simulated"]["first"].startswith("2010-12-01T08:26")


@pytest.mark.parametrize("option", ["--from", "--to"])
@pytest.mark.parametrize("text", [
    "first of May", "20101201", "2010-W48-3", "2010-12-1", "2010-13-01", "2010-12-01T08:00",
    "",
])
def test_replay_command_rejects_bad_dates(tmp_path, option, text):
    source = tmp_path / "data.csv.gz"
    source.write_bytes(b"")

    with pytest.raises(CommandError) as raised:
        call_command("replay", str(source), option, text)

    assert str(raised.value) == (f"{option} '{text}' is not a date; write it as YYYY-MM-DD, "
                                 "for example 2011-03-01.")


def test_replay_command_rejects_from_after_to(tmp_path):
    source = tmp_path / "data.csv.gz"
    source.write_bytes(b"")

    with pytest.raises(CommandError) as raised:
        call_command("replay", str(source), "--from", "2011-03-02", "--to", "2011-03-01")

    assert str(raised.value) == ("--from 2011-03-02 is after --to 2011-03-01; give a --from "
                                 "on or before the --to date.")


GZIPPED = gzip.compress(b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,"
                        b"CustomerID,Country\n536365,85123A,MUG,6,2010-12-01 08:26:00,2.55,"
                        b"17850,United Kingdom\n", mtime=0)


@pytest.mark.parametrize(("content", "words"), [
    (b"InvoiceNo,StockCode\n1,2\n",
     "{source} does not start like a gzip file; the replay reads a gzip-compressed CSV file. "
     "Compress it with gzip (`gzip --keep {source}` writes {source}.gz) and replay that."),
    (GZIPPED[:-12],
     "{source} ends in the middle of its compressed data, so the file is cut short; copy or "
     "download it again."),
    # The last eight bytes are the CRC-32 and the length of the data.
    (GZIPPED[:-8] + bytes(4) + GZIPPED[-4:],
     "{source} has damaged gzip data (CRC check failed 0x0 != 0x"),
    (b"", "{source} is empty; give the transaction log"),
], ids=["not gzip", "truncated", "damaged", "empty"])
@pytest.mark.django_db
def test_replay_command_rejects_unreadable_file(tmp_path, content, words):
    source = tmp_path / "data.csv.gz"
    source.write_bytes(content)

    with pytest.raises(CommandError) as raised:
        call_command("replay", str(source), "-v", "0")

    assert str(raised.value).startswith(words.format(source=source))
    assert "b'" not in str(raised.value)
    assert not ReplayRun.objects.exists()


@pytest.mark.django_db
def test_replay_command_rejects_empty_range(retail_path):
    with pytest.raises(CommandError, match="has no invoices from 2012-01-01"):
        call_command("replay", str(retail_path), "--from", "2012-01-01", "-v", "0")
    assert not ReplayRun.objects.exists()


@pytest.mark.django_db
def test_replay_command_collects_garbage_less_often(tmp_path, quiet_mail, monkeypatch):
    """The thresholds are raised while the replay runs and restored afterwards."""
    import gc

    source = tmp_path / "one.csv.gz"
    source.write_bytes(gzip.compress((
        HEADER + "536365,85123A,MUG,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
    ).encode(), mtime=0))
    before = gc.get_threshold()
    during = []
    run = Replay.run

    def run_recording(self):
        during.append((gc.get_threshold(), gc.get_freeze_count()))
        return run(self)

    monkeypatch.setattr(Replay, "run", run_recording)

    call_command("replay", str(source), "-v", "0")

    [(thresholds, frozen)] = during
    assert thresholds == (20_000, before[1], before[2])
    assert frozen > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


@pytest.mark.django_db
def test_replay_command_rejects_folder(tmp_path):
    with pytest.raises(CommandError, match="is not a file"):
        call_command("replay", str(tmp_path), "-v", "0")


HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


@pytest.mark.django_db
def test_replay_keeps_invoices_around_one_that_fails(tmp_path, quiet_mail):
    # The three invoices go into one transaction. The middle one comes to more
    # than the largest amount an order line may have, so the engine rejects it alone.
    source = tmp_path / "three.csv.gz"
    source.write_bytes(gzip.compress((
        HEADER
        + "536365,85123A,MUG,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
        + "536366,85123A,MUG,1000000,2010-12-01 08:28:00,99999.99,17851,United Kingdom\n"
        + "536367,85123A,MUG,3,2010-12-01 08:34:00,2.55,17852,United Kingdom\n"
    ).encode(), mtime=0))

    report = Replay(ReplayOptions(path=source, progress=False)).run()

    assert report["engine_errors"] == {"order_create: validation_error": 1}
    # Every kind, type and status is listed, with zero where nothing was counted.
    assert report["invoices"]["by_kind"] == {"sale": 3, "cancellation": 0, "bad_debt": 0}
    assert report["orders"]["by_type"] == {"sale": 0, "sales_order": 2, "special_order": 0,
                                           "layaway": 0, "custom_order": 0}
    assert report["orders"]["by_status"] == {"on_hold": 0, "waiting": 0, "ready": 0,
                                             "delivered": 2, "cancelled": 0}
    assert report["cancellations"] == {"units_cancelled": 0, "units_returned": 0}
    assert report["purchasing"]["by_status"]["received"] == 0
    customers = sorted(Order.objects.values_list("customer__external_id", flat=True))
    assert customers == ["17850", "17852"]
    assert sorted(Order.objects.values_list("lines__quantity", flat=True)) == [3, 6]
    assert invariant_violations() == []


@pytest.mark.django_db
def test_replay_skips_invoice_over_largest_total(tmp_path, quiet_mail):
    """Each row's price is within the largest amount, the invoice's total is not."""
    source = tmp_path / "total.csv.gz"
    source.write_bytes(gzip.compress((
        HEADER
        + "536365,85123A,MUG,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
        + "536366,85123A,MUG,1,2010-12-01 08:28:00,9999999999.99,17851,United Kingdom\n"
        + "536366,71053,LANTERN,1,2010-12-01 08:28:00,9999999999.99,17851,United Kingdom\n"
    ).encode(), mtime=0))

    report = Replay(ReplayOptions(path=source, progress=False)).run()

    assert report["engine_errors"] == {"order_create: validation_error": 1}
    assert list(Order.objects.values_list("customer__external_id", flat=True)) == ["17850"]
    assert invariant_violations() == []


# Keys from 1: whether a PO line arrives short depends on the PO's number and the line's id.
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_replay_command_sends_notices_nowhere_and_quietly(tmp_path, caplog, settings):
    # One order far beyond the opening stock waits for a purchase order and turns
    # ready when it arrives in full, on 2010-12-11, and the run ends before its
    # pick-up. A transactional test: notices go out after real commits.
    source = tmp_path / "big.csv.gz"
    source.write_bytes(gzip.compress((
        HEADER + "536365,85123A,MUG,20000,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
    ).encode(), mtime=0))
    notices = logging.getLogger("backroom.sales.notices")
    caplog.set_level(logging.INFO)
    level = notices.level
    mail_backend = settings.EMAIL_BACKEND

    with open(tmp_path / "out.txt", "w") as output:
        call_command("replay", str(source), "--settle-days", "10", "-v", "0",
                     stdout=output)

    states = list(Order.objects.values_list("number", "status", "ready_at", "notified_at"))
    assert [(status, notified is not None) for _, status, _, notified in states] == [
        ("ready", True)], states
    assert [record.getMessage() for record in caplog.records
            if record.name == notices.name] == []
    assert notices.level == level
    assert mail_backend == settings.EMAIL_BACKEND
    assert mail.outbox == []


@pytest.mark.parametrize(("code", "quantity", "customer", "price", "adjustment"), [
    ("85123A", -5, "", "0.00", True),
    ("DCGS0055", -1, "", "0.00", True),
    ("POST", 1000, "", "0.00", True),
    ("DCGS0055", -1, "17850", "0.00", False),
    ("85123A", 6, "", "2.55", False),
])
def test_stock_adjustment_rows(code, quantity, customer, price, adjustment):
    row = RetailRow(number=2, invoice="542529", stock_code=code, description="",
                    quantity=quantity, at=datetime.datetime(2011, 1, 28, tzinfo=SOURCE_TIME_ZONE),
                    unit_price=Decimal(price), customer=customer, country="United Kingdom")

    assert row.is_stock_adjustment is adjustment


def _log(tmp_path, *rows: str):
    source = tmp_path / "log.csv.gz"
    source.write_bytes(gzip.compress((HEADER + "".join(rows)).encode(), mtime=0))
    return source


MUG = "536365,85123A,MUG,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"


@pytest.mark.django_db
def test_replay_counts_split_invoice_and_charges(tmp_path, quiet_mail):
    # Invoice 536366 is split by the cancellation C536367, as 542806 is in the UCI file.
    source = _log(tmp_path, MUG,
                  "536366,22633,GLOVES,2,2010-12-01 08:28:00,1.85,17851,United Kingdom\n",
                  "C536367,D,Discount,-1,2010-12-01 08:29:00,5.00,17850,United Kingdom\n",
                  "536366,21733,CUP,4,2010-12-01 08:30:00,1.25,17851,United Kingdom\n",
                  "C536368,POST,POSTAGE,-1,2010-12-01 08:31:00,18.00,17850,United Kingdom\n",
                  "536369,POST,POSTAGE,1,2010-12-01 08:32:00,18.00,17852,United Kingdom\n")

    report = Replay(ReplayOptions(path=source, progress=False)).run()

    invoices = report["invoices"]
    assert invoices["distinct"] == 5
    assert invoices["by_kind"] == {"sale": 3, "cancellation": 2, "bad_debt": 0}
    assert invoices["blocks"] == 6
    assert invoices["blocks_by_kind"] == {"sale": 4, "cancellation": 2, "bad_debt": 0}
    assert invoices["split"] == {"invoices": 1, "examples": ["536366"]}
    assert report["lines"]["charges_by_code"] == {"POST": 1}
    assert report["lines"]["charge_cancellations_by_code"] == {"D": 1, "POST": 1}
    # Each block of the split invoice becomes an order of its own.
    assert Order.objects.filter(customer__external_id="17851").count() == 2
    assert report["orders"]["created"] == 4
    assert report["engine_errors"] == {}


@pytest.mark.django_db
def test_replay_rejects_zero_quantity_row(tmp_path, quiet_mail):
    source = _log(tmp_path, MUG,
                  "536366,85123A,MUG,0,2010-12-01 08:28:00,2.55,17851,United Kingdom\n",
                  "536366,22633,GLOVES,2,2010-12-01 08:28:00,1.85,17851,United Kingdom\n")

    report = Replay(ReplayOptions(path=source, progress=False)).run()

    assert report["rejected"]["reasons"]["quantity 0"]["rows"] == 1
    assert report["lines"]["by_kind"]["zero_quantity"] == 1
    assert report["lines"]["by_kind"]["sale"] == 2
    assert report["orders"]["created"] == 2
    assert report["engine_errors"] == {}


@pytest.mark.django_db
def test_replay_makes_no_item_of_zero_rows(tmp_path, quiet_mail):
    # GLOVES and POST have only rows with quantity 0, and the CUP's first row has 0 too.
    source = _log(tmp_path, MUG,
                  "536366,22633,GLOVES,0,2010-12-01 08:28:00,1.85,17851,United Kingdom\n",
                  "536366,POST,POSTAGE,0,2010-12-01 08:28:00,18.00,17851,United Kingdom\n",
                  "536366,21733,OLD CUP,0,2010-12-01 08:28:00,1.25,17851,United Kingdom\n",
                  "536367,21733,CUP,4,2010-12-01 08:30:00,1.25,17852,United Kingdom\n")

    report = Replay(ReplayOptions(path=source, progress=False)).run()

    assert report["rejected"]["reasons"]["quantity 0"]["rows"] == 3
    assert report["catalog"]["items"] == {"created": 2}
    assert report["catalog"]["charges"] == 0
    assert sorted(Item.objects.values_list("sku", "description")) == [
        ("21733", "CUP"), ("85123A", "MUG")]
    assert report["engine_errors"] == {}


@pytest.mark.parametrize(("rows", "words"), [
    (["536365,85123A,MUG,abc,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"],
     "line 2: Quantity 'abc' is not a whole number"),
    (["536365,,MUG,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"],
     "line 2: StockCode is missing"),
    (["536365,85123A,MUG,6,2010-12-01 08:26:00,2.55,17850\n"],
     "line 2: expected 8 cells, found 7"),
    (["536365,85123A,MUG,6,1 Dec 2010,2.55,17850,United Kingdom\n"],
     "line 2: InvoiceDate '1 Dec 2010' is not a date and time"),
    (["536365,85123A,MUG,6,2010-12-01 08:26:00,NaN,17850,United Kingdom\n"],
     "line 2: UnitPrice 'NaN' is not a price like 2.55"),
    ([MUG, "536364,22633,GLOVES,2,2010-12-01 08:20:00,1.85,17851,United Kingdom\n"],
     "line 3: InvoiceDate 2010-12-01 08:20 is earlier than 2010-12-01 08:26 on line 2"),
], ids=["quantity", "stock code", "cells", "date", "price", "date order"])
@pytest.mark.django_db
def test_replay_command_names_bad_row(tmp_path, rows, words):
    source = _log(tmp_path, *rows)

    with pytest.raises(CommandError, match=words):
        call_command("replay", str(source), "-v", "0")
    assert not ReplayRun.objects.exists()
    assert not Order.objects.exists()


@pytest.mark.parametrize(("content", "words"), [
    (HEADER.encode() + MUG.encode()
     + "536366,22633,CAF\xc9 GLOVES,2,2010-12-01 08:28:00,1.85,17851,United Kingdom\n"
     .encode("latin-1"),
     "line 3: Description contains the byte 0xC9, which is invalid in UTF-8 text"),
    ("InvoiceNo,Caf\xe9\n536365\n".encode("latin-1"),
     "line 1: the header contains the byte 0xE9, which is invalid in UTF-8 text"),
], ids=["row", "header"])
@pytest.mark.django_db
def test_replay_command_names_line_not_utf8(tmp_path, content, words):
    source = tmp_path / "latin.csv.gz"
    source.write_bytes(gzip.compress(content, mtime=0))

    with pytest.raises(CommandError, match=words):
        call_command("replay", str(source), "-v", "0")
    assert not ReplayRun.objects.exists()
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_replay_command_rejects_empty_file(tmp_path):
    source = tmp_path / "empty.csv.gz"
    source.write_bytes(gzip.compress(b"", mtime=0))

    with pytest.raises(CommandError, match="is empty"):
        call_command("replay", str(source), "-v", "0")


@pytest.mark.django_db
def test_replay_reads_spreadsheet_customer_ids(tmp_path, quiet_mail):
    source = _log(tmp_path, MUG,
                  "536366,22633,GLOVES,2,2010-12-01 08:28:00,1.85,17850.0,United Kingdom\n")

    Replay(ReplayOptions(path=source, progress=False)).run()

    assert list(Order.objects.values_list("customer__external_id", flat=True).distinct()) \
        == ["17850"]


@pytest.mark.parametrize("target", ["missing/report.json", "."], ids=["no folder", "folder"])
@pytest.mark.django_db
def test_replay_command_checks_report_path_first(tmp_path, target):
    source = _log(tmp_path, MUG)

    with pytest.raises(CommandError, match="--report"):
        call_command("replay", str(source), "--report", str(tmp_path / target), "-v", "0")
    assert not ReplayRun.objects.exists()


@pytest.mark.django_db
def test_replay_refuses_store_with_own_orders(tmp_path, waiting_order):
    source = _log(tmp_path, MUG)

    with pytest.raises(CommandError, match="already has 1 order that no replay made "
                                           "\\(the first is order [0-9]+, created by olive\\)"):
        call_command("replay", str(source), "-v", "0")
    assert not ReplayRun.objects.exists()
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_replay_refuses_item_of_other_kind(tmp_path, vendor):
    Item.objects.create(sku="C2", description="Linen notebook", price=Decimal("4.00"),
                        vendor=vendor, on_hand=8)
    source = _log(tmp_path, MUG,
                  "536366,C2,CARRIAGE,1,2010-12-01 08:28:00,50.00,17851,United Kingdom\n")

    with pytest.raises(CommandError, match="already has items C2, of another kind"):
        call_command("replay", str(source), "-v", "0")
    assert not ReplayRun.objects.exists()
    assert Item.objects.get(sku="C2").tracked is True


@pytest.mark.parametrize(("row", "words"), [
    ("536365, 84879 ,BIRD,3,2010-12-01 08:26:00,1.69,13047,United Kingdom\n",
     "StockCode ' 84879 ' is invalid"),
    ("536365,84879,BIRD,1_0,2010-12-01 08:26:00,1.69,13047,United Kingdom\n",
     "Quantity '1_0' is not a whole number"),
    ("536365,84879,BIRD,3,2010-12-01 08:26:00,99999999999999,13047,United Kingdom\n",
     "UnitPrice '99999999999999' is not a price"),
    ("536365,84879,BIRD,3,2010-12-01 08:26:00,1.69, 13047 ,United Kingdom\n",
     "CustomerID ' 13047 ' is not a number"),
    ("536365,84879,BI\x00RD,3,2010-12-01 08:26:00,1.69,13047,United Kingdom\n",
     "NUL character"),
], ids=["spaced code", "underscore", "huge price", "spaced customer", "NUL"])
@pytest.mark.django_db
def test_replay_checks_row_values_before_writing(tmp_path, row, words):
    source = _log(tmp_path, MUG, row)

    with pytest.raises(CommandError, match=words):
        call_command("replay", str(source), "-v", "0")
    assert not ReplayRun.objects.exists()
    assert not Order.objects.exists()


@pytest.mark.parametrize("price", [
    "99999999999.99", "123456789012345678901234567", "9" * 90, "9999999999.995", "1e400",
    "NaN", "Infinity", "-Infinity",
])
@pytest.mark.django_db
def test_replay_names_price_out_of_range(tmp_path, price):
    source = _log(tmp_path, MUG,
                  f"536366,22633,GLOVES,2,2010-12-01 08:28:00,{price},17851,United Kingdom\n")

    with pytest.raises(CommandError) as raised:
        call_command("replay", str(source), "-v", "0")

    assert str(raised.value) == (
        f"{source}, line 3: UnitPrice '{price}' is not a price like 2.55 of at most "
        "9999999999.99.")
    assert not ReplayRun.objects.exists()


@pytest.mark.django_db
def test_replay_names_quantity_of_many_digits(tmp_path):
    quantity = "1" * 5000
    source = _log(tmp_path, MUG,
                  f"536366,22633,GLOVES,{quantity},2010-12-01 08:28:00,1.85,17851,UK\n")

    with pytest.raises(CommandError, match=f"line 3: Quantity '{quantity}' is not a whole "
                                           "number from -1,000,000 to 1,000,000"):
        call_command("replay", str(source), "-v", "0")
    assert not ReplayRun.objects.exists()


@pytest.mark.parametrize("invoice", ["536366", "C536366"])
@pytest.mark.django_db
def test_replay_names_negative_price(tmp_path, invoice):
    source = _log(tmp_path, MUG,
                  f"{invoice},22633,GLOVES,2,2010-12-01 08:28:00,-1.85,17851,United Kingdom\n")

    with pytest.raises(CommandError) as raised:
        call_command("replay", str(source), "-v", "0")

    assert str(raised.value) == (
        f"{source}, line 3: UnitPrice '-1.85' is negative, which only a bad-debt adjustment "
        "(an InvoiceNo starting with A) may be; correct it. A cancellation has a positive "
        "price and a negative Quantity.")
    assert not ReplayRun.objects.exists()
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_replay_names_positive_cancellation(tmp_path):
    source = _log(tmp_path, MUG,
                  "C536379,22633,GLOVES,2,2010-12-01 08:28:00,1.85,17851,United Kingdom\n")

    with pytest.raises(CommandError) as raised:
        call_command("replay", str(source), "-v", "0")

    assert str(raised.value) == (
        f"{source}, line 3: Quantity '2' is positive on cancellation C536379; a cancellation "
        "takes units back with a negative Quantity, so correct the sign or the InvoiceNo.")
    assert not ReplayRun.objects.exists()
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_replay_skips_negative_bad_debt(tmp_path, quiet_mail):
    source = _log(tmp_path, MUG,
                  "A563186,B,Adjust bad debt,1,2010-12-01 08:28:00,-11062.06,,United Kingdom\n")

    report = Replay(ReplayOptions(path=source, progress=False)).run()

    assert report["rejected"]["reasons"]["bad-debt adjustment, not a sale"]["rows"] == 1
    assert report["engine_errors"] == {}


@pytest.mark.parametrize("at", ["2999-01-01 09:00:00", "9999-12-31 23:59:00"])
@pytest.mark.django_db
def test_replay_names_future_date(tmp_path, at):
    source = _log(tmp_path, MUG,
                  f"536366,22633,GLOVES,2,{at},1.85,17851,United Kingdom\n")

    with pytest.raises(CommandError, match=(
            f"line 3: InvoiceDate {at[:16]} is in the future \\(it is now .* UK time\\); a "
            "transaction log holds past invoices only, so correct the date.")):
        call_command("replay", str(source), "-v", "0")
    assert not ReplayRun.objects.exists()


@pytest.mark.django_db
def test_replay_names_break_over_limit(tmp_path):
    source = _log(tmp_path, MUG,
                  "536366,22633,GLOVES,2,2010-12-01 08:28:00,1.85,17851,United Kingdom\n",
                  "536367,22633,GLOVES,2,2011-12-01 08:28:00,1.85,17851,United Kingdom\n")

    with pytest.raises(CommandError) as raised:
        call_command("replay", str(source), "-v", "0")

    assert str(raised.value) == (
        f"{source}, line 4: InvoiceDate 2011-12-01 08:28 comes 365 days after 2010-12-01 "
        "08:28 on line 3, more than the 92 days the replay allows between two invoices, "
        "because the simulated store would keep buying stock twice a week through them. "
        "Correct the date, or replay the invoices on each side separately, with --to "
        "2010-12-01 and then --from 2011-12-01.")
    assert not ReplayRun.objects.exists()


@pytest.mark.django_db
def test_replay_checks_breaks_in_selection_only(tmp_path, quiet_mail):
    source = _log(tmp_path, MUG,
                  "536366,22633,GLOVES,2,2011-12-01 08:28:00,1.85,17851,United Kingdom\n")

    report = Replay(ReplayOptions(path=source, start=datetime.date(2011, 12, 1),
                                  progress=False)).run()

    assert report["orders"]["created"] == 1


@pytest.mark.django_db
def test_replay_shows_simulated_date(tmp_path, quiet_mail, monkeypatch, capsys):
    # The second invoice comes 92 days after the first, the longest break allowed.
    monkeypatch.setattr(runner, "PROGRESS_SECONDS", 0)
    source = _log(tmp_path, MUG,
                  "536366,22633,GLOVES,2,2011-03-03 08:26:00,1.85,17851,United Kingdom\n")

    report = Replay(ReplayOptions(path=source, settle_days=30)).run()

    progress = capsys.readouterr().err
    assert report["orders"]["created"] == 2
    # The buyer's runs in the break move the date shown beside the invoice bar.
    assert "simulated 2011-01-03" in progress
    assert "simulated 2011-03-03" in progress
    assert "settle: 100%" in progress
    assert "30/30" in progress


LONG = {"InvoiceNo": "5" * 101, "StockCode": "8" * 41, "Description": "D" * 201,
        "CustomerID": "1" * 61, "Country": "C" * 130}


@pytest.mark.parametrize(("column", "limit", "stored_as"), [
    ("InvoiceNo", 100, "a replay run's last invoice"),
    ("StockCode", 40, "an item's SKU"),
    ("Description", 200, "a stock adjustment's reason"),
    ("CustomerID", 60, "a customer's external id"),
    ("Country", 129, "a customer's name with a CustomerID of 60 digits"),
])
@pytest.mark.django_db
def test_replay_names_text_over_limit(tmp_path, column, limit, stored_as):
    values = {"InvoiceNo": "536366", "StockCode": "22633", "Description": "GLOVES",
              "CustomerID": "17851", "Country": "United Kingdom", column: LONG[column]}
    source = _log(tmp_path, MUG, (
        "{InvoiceNo},{StockCode},{Description},2,2010-12-01 08:28:00,1.85,{CustomerID},"
        "{Country}\n").format(**values))

    with pytest.raises(CommandError) as raised:
        call_command("replay", str(source), "-v", "0")

    value = LONG[column]
    assert str(raised.value) == (
        f"{source}, line 3: {column} '{value[:30]}…' has {len(value)} characters, more than "
        f"the {limit} that fit in {stored_as}; shorten it.")
    assert not ReplayRun.objects.exists()
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_replay_stores_texts_at_limit(tmp_path, quiet_mail):
    # Each text has the most characters its column takes: the sale, the write-off
    # and the return with its refund store them whole, on PostgreSQL too.
    sale, customer, country = "5" * 100, "1" * 60, "C" * 129
    description, reason = "D" * 200, "W" * 200
    cancellation = "C" + "5" * 99
    source = _log(tmp_path,
                  f"{sale},85123A,{description},6,2010-12-01 08:26:00,2.55,{customer},"
                  f"{country}\n",
                  f"536366,85123A,{reason},-1,2010-12-01 08:28:00,0,,United Kingdom\n",
                  f"{cancellation},85123A,MUG,-2,2010-12-01 08:30:00,2.55,{customer},"
                  f"{country}\n")

    report = Replay(ReplayOptions(path=source, progress=False)).run()

    assert report["engine_errors"] == {}
    assert report["cancellations"]["units_returned"] == 2
    assert Item.objects.get(sku="85123A").description == description
    stored = Customer.objects.get(external_id=customer)
    assert stored.name == f"Customer {customer}, {country}"
    assert len(stored.name) == Customer._meta.get_field("name").max_length
    assert StockAdjustment.objects.filter(reason=reason).count() == 1
    refund = Payment.objects.get(kind=PaymentKind.REFUND)
    assert refund.reason == f"Returned on invoice {cancellation}"
    assert ReplayRun.objects.get().last_invoice == cancellation


@pytest.mark.django_db
def test_replay_reads_header_after_byte_order_mark(tmp_path, quiet_mail):
    source = tmp_path / "bom.csv.gz"
    source.write_bytes(gzip.compress(("\ufeff" + HEADER + MUG).encode(), mtime=0))

    report = Replay(ReplayOptions(path=source, progress=False)).run()

    assert report["orders"]["created"] == 1


@pytest.mark.django_db
def test_replay_command_keeps_report_off_its_input(tmp_path):
    source = _log(tmp_path, MUG)
    before = source.read_bytes()

    with pytest.raises(CommandError, match="is the file to replay"):
        call_command("replay", str(source), "--report", str(source), "-v", "0")
    assert source.read_bytes() == before
    assert not ReplayRun.objects.exists()


@pytest.mark.parametrize(("number", "kind"), [
    ("536365", "sale"), ("C536379", "cancellation"), ("c536379", "cancellation"),
    ("A563185", "bad_debt"),
])
def test_invoice_kind_from_number(number, kind):
    invoice = Invoice(number=number, at=datetime.datetime(2010, 12, 1, tzinfo=SOURCE_TIME_ZONE),
                      customer="", rows=())

    assert invoice.kind == kind


@pytest.mark.django_db(transaction=True)
def test_replay_journals_in_memory_during_batches(tmp_path, quiet_mail, monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("temp_store is an SQLite setting")
    source = _log(tmp_path, MUG)
    seen = []
    invoice = Replay._invoice

    def invoice_noting_temp_store(self, *args):
        seen.append(_temp_store())
        return invoice(self, *args)

    monkeypatch.setattr(Replay, "_invoice", invoice_noting_temp_store)

    Replay(ReplayOptions(path=source, progress=False)).run()

    assert seen == [2]
    assert _temp_store() == 0


def _temp_store() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA temp_store")
        return int(cursor.fetchone()[0])
