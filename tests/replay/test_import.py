"""Importing items, vendors and customers from CSV files."""

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from backroom.catalog.models import Item, Vendor
from backroom.customers.models import Customer
from backroom.replay.imports import import_file, import_text

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
HEADER = "sku,description,price,vendor\n"

BAD_ROWS = [
    (",Missing SKU,1.00,V\n", "sku", "missing_value"),
    ("A1,Price not a number,abc,V\n", "price", "invalid_number"),
    ("A2,Negative price,-1.00,V\n", "price", "negative_value"),
    ("A3,Exponent price,1e3,V\n", "price", "invalid_number"),
    ("A5,Not a number price,NaN,V\n", "price", "invalid_number"),
    ("A4,Unknown vendor,2.00,NOPE\n", "vendor", "unknown_vendor"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("row", "field", "code"), BAD_ROWS)
def test_bad_row_named_and_nothing_written(owner, vendor, row, field, code):
    text = HEADER + "G1,Good row,3.00,V\n" + row

    result = import_text(user=owner, kind_name="items", text=text)

    assert [(problem.row, problem.field, problem.code) for problem in result.problems] == [
        (3, field, code)]
    assert result.written is False
    assert Item.objects.count() == 0


@pytest.mark.django_db
def test_duplicate_sku_named_and_nothing_written(owner, vendor):
    text = HEADER + "A3,First,2.00,V\nA3,Second,2.50,V\n"

    result = import_text(user=owner, kind_name="items", text=text)

    assert [(problem.row, problem.field, problem.code) for problem in result.problems] == [
        (3, "sku", "duplicate_key")]
    assert "also on row 2" in result.problems[0].message
    assert Item.objects.count() == 0


@pytest.mark.django_db
def test_skip_invalid_writes_good_rows(owner, vendor):
    text = HEADER + "G1,Good,3.00,V\n" + "".join(row for row, _, _ in BAD_ROWS) \
        + "G2,Also good,4.00,\n"

    result = import_text(user=owner, kind_name="items", text=text, skip_invalid=True)

    assert (result.created, result.rejected, result.written) == (2, len(BAD_ROWS), True)
    assert sorted(Item.objects.values_list("sku", flat=True)) == ["G1", "G2"]


@pytest.mark.django_db
def test_items_example_created_then_unchanged_then_updated(owner):
    import_file(user=owner, kind_name="vendors", path=EXAMPLES / "vendors.csv", progress=False)

    first = import_file(user=owner, kind_name="items", path=EXAMPLES / "items.csv",
                        progress=False)
    second = import_file(user=owner, kind_name="items", path=EXAMPLES / "items.csv",
                         progress=False)
    changed = (EXAMPLES / "items.csv").read_text().replace("2.95", "3.25")
    third = import_text(user=owner, kind_name="items", text=changed)

    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 3)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 2)
    heart = Item.objects.get(sku="85123A")
    assert heart.price == Decimal("3.25")
    assert (heart.vendor.code, heart.reorder_point, heart.reorder_quantity) == ("HGS", 24, 48)
    assert heart.barcodes.get().code == "5012345000017"


@pytest.mark.django_db
def test_dry_run_counts_and_writes_nothing(owner):
    result = import_file(user=owner, kind_name="vendors", path=EXAMPLES / "vendors.csv",
                         dry_run=True, progress=False)

    assert (result.created, result.written) == (2, False)
    assert Vendor.objects.count() == 0


@pytest.mark.django_db
def test_vendor_upsert_by_code(owner, vendor):
    text = "code,name,lead_time_days\nV,Vendor V renamed,9\nW,Vendor W,3\n"

    result = import_text(user=owner, kind_name="vendors", text=text)

    assert (result.created, result.updated) == (1, 1)
    assert Vendor.objects.get(code="V").lead_time_days == 9


@pytest.mark.django_db
def test_customer_upsert_by_email_and_id(owner, customer):
    by_email = "name,email,phone\nCustomer C,C@example.com,555-0100\n"
    by_id = f"id,name,notify\n{customer.pk},Customer See,no\n"

    first = import_text(user=owner, kind_name="customers", text=by_email)
    second = import_text(user=owner, kind_name="customers", text=by_id)
    examples = import_file(user=owner, kind_name="customers",
                           path=EXAMPLES / "customers.csv", progress=False)

    assert first.updated == 1
    assert second.updated == 1
    assert examples.created == 2
    customer.refresh_from_db()
    assert (customer.name, customer.phone, customer.notify) == ("Customer See", "555-0100",
                                                                 False)


@pytest.mark.django_db
def test_customer_with_unknown_id_rejected(owner):
    result = import_text(user=owner, kind_name="customers", text="id,name\n999,Nobody\n")

    assert [problem.code for problem in result.problems] == ["not_found"]
    assert Customer.objects.filter(is_walk_in=False).count() == 0


@pytest.mark.django_db
def test_missing_required_column_rejected(owner):
    with pytest.raises(Exception, match="no column for price"):
        import_text(user=owner, kind_name="items", text="sku,description\nA,B\n")


@pytest.mark.django_db
def test_column_mapping_override(owner):
    text = "code,label,amount\nZ1,Zebra mug,6.50\n"

    result = import_text(user=owner, kind_name="items", text=text, column_overrides={
        "sku": "code", "description": "label", "price": "amount"})

    assert result.created == 1
    assert Item.objects.get(sku="Z1").price == Decimal("6.50")


@pytest.mark.data
@pytest.mark.django_db
def test_import_real_stock_codes(owner, retail_invoices):
    first_seen: dict[str, dict[str, str]] = {}
    for block in retail_invoices(60):
        for row in block:
            first_seen.setdefault(row["StockCode"], row)
    bad = {code for code, row in first_seen.items()
           if not row["Description"].strip() or len(row["UnitPrice"].split(".")[-1]) > 2
           and "." in row["UnitPrice"]}
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["StockCode", "Description", "UnitPrice", "Country"])
    for code, row in first_seen.items():
        writer.writerow([code, row["Description"], row["UnitPrice"], row["Country"]])

    result = import_text(user=owner, kind_name="items", text=text.getvalue(),
                         skip_invalid=True)

    assert result.rows == len(first_seen)
    assert result.created == len(first_seen) - len(bad)
    assert result.rejected == len(bad)
    assert result.ignored_columns == ["Country"]
    assert Item.objects.count() == len(first_seen) - len(bad)


@pytest.mark.django_db
def test_import_command_refuses_invalid_file(owner, vendor, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(HEADER + "A1,Price not a number,abc,V\n")
    output = io.StringIO()

    with pytest.raises(CommandError, match="nothing was written"):
        call_command("import", "items", str(path), stdout=output, verbosity=0)

    assert "row 2, price: 'abc' is not a number" in output.getvalue()


@pytest.mark.django_db
def test_import_command_prints_json_summary(owner, tmp_path):
    output = io.StringIO()

    call_command("import", "vendors", str(EXAMPLES / "vendors.csv"), "--json", stdout=output)

    assert json.loads(output.getvalue())["created"] == 2


@pytest.mark.django_db
def test_import_command_rejects_non_utf8(owner, tmp_path):
    path = tmp_path / "items.csv"
    path.write_bytes("sku,description,price\nZ9,Caf\xe9 mug,3.00\n".encode("latin-1"))

    with pytest.raises(CommandError, match="is not UTF-8 text"):
        call_command("import", "items", str(path), verbosity=0)
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_import_command_needs_catalog_permission(owner, clerk, vendor, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(HEADER + "A1,Mug,3.00,V\nA2,Cup,2.00,V\n")
    output = io.StringIO()

    with pytest.raises(CommandError, match="lacks the 'manage_catalog' permission"):
        call_command("import", "items", str(path), "--user", clerk.username, stdout=output,
                     verbosity=0)
    assert "row " not in output.getvalue()
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_import_command_rejects_folder(owner, tmp_path):
    with pytest.raises(CommandError, match="is not a file"):
        call_command("import", "items", str(tmp_path), verbosity=0)


@pytest.mark.django_db
def test_every_problem_of_a_row_listed(owner):
    text = "name,email,notify\nCustomer A,a@example.com,yes\nCustomer B,not-an-email,maybe\n"

    result = import_text(user=owner, kind_name="customers", text=text)

    assert [(problem.row, problem.field, problem.code) for problem in result.problems] == [
        (3, "email", "invalid_value"), (3, "notify", "invalid_flag")]
    assert not Customer.objects.filter(name__startswith="Customer").exists()
