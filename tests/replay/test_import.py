"""Importing items, vendors and customers from CSV files."""

import contextlib
import csv
import importlib
import io
import json
import re
import shlex
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from backroom.accounts.services import user_create
from backroom.catalog.models import Barcode, Item, Vendor
from backroom.core.errors import ValidationFailed
from backroom.customers.models import Customer
from backroom.customers.services import walk_in_customer
from backroom.replay import upserts
from backroom.replay.imports import KINDS, Column, import_file, import_text, parse_value

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLES = REPOSITORY / "docs" / "examples"
IMPORT_DOCS = REPOSITORY / "docs" / "import.md"
HEADER = "sku,description,price,vendor\n"

BAD_ROWS = [
    (",Missing SKU,1.00,V\n", "sku", "missing_value"),
    ("A1,Price not a number,abc,V\n", "price", "invalid_number"),
    ("A2,Negative price,-1.00,V\n", "price", "negative_value"),
    ("A3,Exponent price,1e3,V\n", "price", "invalid_number"),
    ("A5,Not a number price,NaN,V\n", "price", "invalid_number"),
    ("A6,Arabic-Indic digits,\u0661\u0662.\u0665\u0660,V\n", "price", "invalid_number"),
    ("A7,Full-width digits,\uff11\uff12,V\n", "price", "invalid_number"),
    ("A4,Unknown vendor,2.00,NOPE\n", "vendor", "unknown_vendor"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("cell", ["9" * 5000, "1" + "0" * 100])
def test_huge_count_rejected_with_short_message(owner, vendor, cell):
    text = "sku,description,price,vendor,reorder_point\nA1,Mug,4.00,V," + cell + "\n"

    result = import_text(user=owner, kind_name="items", text=text)

    [problem] = result.problems
    assert (problem.row, problem.field, problem.code) == (2, "reorder_point", "invalid_number")
    assert f"'{cell[:20]}" in problem.message
    assert "is too large" in problem.message
    assert len(problem.message) < 200
    assert result.written is False


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
def test_price_with_three_decimals_says_round(owner, vendor):
    result = import_text(user=owner, kind_name="items", text=HEADER + "A6,Mug,4.505,V\n")

    assert [(problem.field, problem.code, problem.message) for problem in result.problems] == [
        ("price", "invalid_number", "'4.505' has more than two decimals; round it to cents, "
                                    "like 4.51.")]
    assert Item.objects.count() == 0


AMOUNTS_OUT_OF_RANGE = ["99999999999", "999999999999999999999999999", "9" * 40 + ".999"]


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["price", "cost"])
@pytest.mark.parametrize("amount", AMOUNTS_OUT_OF_RANGE,
                         ids=["11 digits", "27 digits", "40 digits and 3 decimals"])
def test_amount_too_large_is_row_problem(owner, field, amount):
    cells = {"price": "1.00", "cost": "1.00", field: amount}
    text = f"sku,description,price,cost\nA1,Mug,{cells['price']},{cells['cost']}\n"

    result = import_text(user=owner, kind_name="items", text=text)

    assert [(problem.row, problem.field, problem.code) for problem in result.problems] == [
        (2, field, "invalid_value")]
    assert result.problems[0].message == (
        f"{field.capitalize()} {amount} is invalid; give 0 to 9999999999.99.")
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_import_command_rejects_27_digit_price(owner, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("sku,description,price\nA1,Mug,999999999999999999999999999\n")
    output = io.StringIO()

    with pytest.raises(CommandError, match="^1 of 1 row is invalid"):
        call_command("import", "items", str(path), stdout=output, verbosity=0)

    assert output.getvalue().splitlines()[0] == (
        "row 2, price: Price 999999999999999999999999999 is invalid; give 0 to "
        "9999999999.99. [invalid_value]")


AMOUNT_SPELLINGS = [
    ("1e400", "invalid_number"),
    ("NaN", "invalid_number"),
    ("Infinity", "invalid_number"),
    ("-Infinity", "invalid_number"),
    ('"1,5"', "invalid_number"),
    ("1 000", "invalid_number"),
    ("0.001", "invalid_number"),
    ("-0.01", "negative_value"),
    ("-999999999999999999999999999", "negative_value"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["price", "cost"])
@pytest.mark.parametrize(("amount", "code"), AMOUNT_SPELLINGS)
def test_amount_spelling_rejected(owner, field, amount, code):
    cells = {"price": "1.00", "cost": "1.00", field: amount}
    text = f"sku,description,price,cost\nA1,Mug,{cells['price']},{cells['cost']}\n"

    result = import_text(user=owner, kind_name="items", text=text)

    assert [(problem.row, problem.field, problem.code) for problem in result.problems] == [
        (2, field, code)]


@pytest.mark.django_db
def test_amount_minus_zero_read_as_zero(owner):
    text = "sku,description,price,cost\nA1,Mug,-0,-0.00\nA2,Cup,+3,.5\n"
    price = Column("price", "money")

    result = import_text(user=owner, kind_name="items", text=text)

    assert parse_value(price, "-0") == (Decimal("0"), None)
    assert not parse_value(price, "-0.00")[0].is_signed()
    assert (result.created, result.rejected) == (2, 0)
    mug = Item.objects.get(sku="A1")
    assert (str(mug.price), str(mug.cost)) == ("0.00", "0.00")
    cup = Item.objects.get(sku="A2")
    assert (cup.price, cup.cost) == (Decimal("3.00"), Decimal("0.50"))


COUNT_SPELLINGS = [
    ("1_000", "invalid_number"),
    ("1.0", "invalid_number"),
    ("\u0661\u0662", "invalid_number"),
    ("-1", "negative_value"),
    ("9" * 30, "invalid_value"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("count", "code"), COUNT_SPELLINGS,
                         ids=["underscore", "decimals", "arabic-indic digits", "negative",
                              "30 digits"])
def test_count_spelling_rejected(owner, count, code):
    text = f"sku,description,price,reorder_point\nA1,Mug,1.00,{count}\n"

    result = import_text(user=owner, kind_name="items", text=text)

    assert [(problem.row, problem.field, problem.code) for problem in result.problems] == [
        (2, "reorder_point", code)]


TEXT_LIMITS = [
    ("items", "sku", 40), ("items", "description", 300), ("items", "vendor", 20),
    ("items", "vendor_sku", 60), ("items", "category", 100), ("items", "barcode", 64),
    ("vendors", "code", 20), ("vendors", "name", 200), ("vendors", "email", 254),
    ("customers", "external_id", 60), ("customers", "name", 200), ("customers", "email", 254),
    ("customers", "phone", 40),
]
BASE_ROWS = {
    "items": lambda number: {"sku": f"S{number}", "description": "Mug", "price": "1.00"},
    "vendors": lambda number: {"code": f"C{number}", "name": "Vendor"},
    "customers": lambda number: {"name": f"Customer {number}"},
}


def _text_of_length(field: str, length: int) -> str:
    if field == "email":
        return "a" * (length - len("@example.com")) + "@example.com"
    return ("1" if field == "barcode" else "W") * length


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "field", "limit"), TEXT_LIMITS,
                         ids=[f"{kind} {field}" for kind, field, _ in TEXT_LIMITS])
def test_text_longer_than_column_rejected(owner, kind, field, limit):
    if field == "vendor":
        Vendor.objects.create(code="W" * 20, name="Vendor with the longest code")
    rows = [BASE_ROWS[kind](number) for number in (1, 2, 3)]
    rows[1][field] = _text_of_length(field, limit)
    rows[2][field] = _text_of_length(field, limit + 1)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list({**rows[0], field: ""}))
    writer.writeheader()
    writer.writerows(rows)

    result = import_text(user=owner, kind_name=kind, text=text.getvalue(), skip_invalid=True)

    assert [(problem.row, problem.field, problem.code) for problem in result.problems] == [
        (4, field, "invalid_value")]
    assert result.problems[0].message == (
        f"The {field.replace('_', ' ')} '{rows[2][field][:20]}...' has {limit + 1} "
        f"characters; the maximum is {limit}. Shorten it.")
    assert (result.created, result.rejected, result.written) == (2, 1, True)


def test_documented_text_limits_match_models():
    table = IMPORT_DOCS.read_text().split("| kind | field and maximum number of characters |")[1]
    documented = {
        (kind, field): int(limit)
        for kind, fields in re.findall(r"^\| (\w+) \| (.+) \|$", table, re.MULTILINE)
        for field, limit in re.findall(r"(\w+) (\d+)", fields)}

    limits = {(kind.name, column.name): column.max_length for kind in KINDS.values()
              for column in kind.columns if column.max_length is not None}

    assert documented == limits
    assert limits == {(kind, field): limit for kind, field, limit in TEXT_LIMITS}


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
def test_walk_in_customer_not_updated(owner):
    walk_in = walk_in_customer()

    result = import_text(user=owner, kind_name="customers",
                         text=f"id,name,email\n{walk_in.pk},Rita,rita@example.com\n")

    assert [(problem.row, problem.field, problem.code) for problem in result.problems] == [
        (2, "id", "invalid_value")]
    assert result.problems[0].message == (
        f"Customer {walk_in.pk} is the walk-in customer ('Retail customer'), which an import "
        "cannot change. Remove the row, or leave the id empty to create a new customer.")
    walk_in.refresh_from_db()
    assert (walk_in.name, walk_in.email) == ("Retail customer", "")


@pytest.mark.django_db
def test_missing_required_column_rejected(owner):
    with pytest.raises(Exception, match="no column for price"):
        import_text(user=owner, kind_name="items", text="sku,description\nA,B\n")


SEPARATED_FILES = [
    ("items", "sku;description;price\nA1;Mug;3,00\n", "semicolons (;)",
     "'sku;description;price'"),
    ("items", "sku\tdescription\tprice\nA1\tMug\t3.00\n", "tabs",
     "'sku\\tdescription\\tprice'"),
    ("customers", "name;email\nNed;ned@example.com\n", "semicolons (;)", "'name;email'"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "text", "separator", "header"), SEPARATED_FILES,
                         ids=["semicolons", "tabs", "customers with semicolons"])
def test_other_separator_named(owner, tmp_path, kind, text, separator, header):
    path = tmp_path / "export.csv"
    path.write_text(text)

    with pytest.raises(CommandError) as raised:
        call_command("import", kind, str(path), verbosity=0)

    assert str(raised.value) == (
        f"The file seems to be separated by {separator}: its header {header} reads as one "
        "column, because the import reads comma-separated files. Save the file as CSV with "
        "commas between the cells and points in the numbers (4.50, not 4,50), then import it "
        "again.")


@pytest.mark.django_db
def test_semicolon_in_comma_header_allowed(owner):
    text = "sku,description,price,notes;extra\nA1,Mug,3.00,x\n"

    result = import_text(user=owner, kind_name="items", text=text)

    assert (result.created, result.ignored_columns) == (1, ["notes;extra"])


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
def test_import_command_rejects_invalid_file(owner, vendor, tmp_path):
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


FILE_ERRORS = [
    ("", [], "validation_error", "file", None, "{path} is empty; it needs a header row."),
    ("sku,description,price\n\n", [], "validation_error", "file", None,
     "{path} has a header row but no rows below it; add the rows to import under the header."),
    (b"sku,description,price\nZ9,Caf\xe9 mug,3.00\n", [], "validation_error", "file", 2,
     "{path} is not UTF-8 text: byte 28 (0xE9) on line 2 cannot be read. Save the file as "
     "\"CSV UTF-8\" and import it again."),
    ("sku,description,price\nA1,\"Mug,3.00\n", [], "validation_error", "file", 2,
     "{path}, line 2: a quote (\") opens a cell and is never closed. Close it with a second "
     "quote, or remove it. Nothing was written."),
    ("sku,description\nA1,Mug\n", [], "validation_error", "price", None,
     "The file has no column for price; the header is 'sku,description'. Rename the column "
     "or map it with --column."),
    ("sku,description,price\nA1,Mug,3.00\n", ["--column", "price"], "validation_error",
     "columns", None, "--column 'price' is invalid; write it as FIELD=HEADER."),
    ("sku;description;price\nA1;Mug;3,00\n", [], "validation_error", "file", 1,
     "The file seems to be separated by semicolons (;): its header 'sku;description;price' "
     "reads as one column, because the import reads comma-separated files. Save the file as "
     "CSV with commas between the cells and points in the numbers (4.50, not 4,50), then "
     "import it again."),
    (None, [], "not_found", "file", None, "File {path} not found; check the path."),
    ("sku,description,price\nA1,Mug,3.00\n", ["--user", "nobody"], "not_found", "user", None,
     "User 'nobody' not found; create it with 'backroom user create'."),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("content", "options", "code", "field", "line", "message"),
                         FILE_ERRORS, ids=["empty", "header only", "not utf-8", "unclosed quote",
                                           "missing column", "bad --column", "semicolons",
                                           "no file",
                                           "unknown user"])
def test_import_json_names_file_error(owner, tmp_path, content, options, code, field, line,
                                      message):
    path = tmp_path / "items.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    output = io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("import", "items", str(path), "--json", *options, stdout=output,
                     verbosity=0)

    expected_message = message.format(path=path)
    assert str(raised.value) == expected_message
    assert json.loads(output.getvalue()) == {
        "kind": "items", "dry_run": False, "written": False,
        "error": {"code": code, "field": field, "line": line, "message": expected_message}}
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_import_json_names_permission_error(owner, clerk, tmp_path):
    path = tmp_path / "vendors.csv"
    path.write_text("code,name\nW,Vendor W\n")
    output = io.StringIO()

    with pytest.raises(CommandError, match="lacks the 'manage_catalog' permission"):
        call_command("import", "vendors", str(path), "--json", "--dry-run", "--user",
                     clerk.username, stdout=output, verbosity=0)

    printed = json.loads(output.getvalue())
    assert (printed["kind"], printed["dry_run"], printed["written"]) == ("vendors", True, False)
    assert (printed["error"]["code"], printed["error"]["field"]) == ("permission_denied", "user")


@pytest.mark.django_db
def test_import_json_names_database_error(owner, tmp_path, monkeypatch):
    command = importlib.import_module("backroom.replay.management.commands.import")
    path = tmp_path / "vendors.csv"
    path.write_text("code,name\nW,Vendor W\n")
    output = io.StringIO()

    def not_ready():
        raise CommandError("The database is not set up.")

    monkeypatch.setattr(command, "require_database_ready", not_ready)

    with pytest.raises(CommandError, match="^The database is not set up.$"):
        call_command("import", "vendors", str(path), "--json", stdout=output, verbosity=0)

    assert json.loads(output.getvalue())["error"] == {
        "code": "database_error", "field": None, "line": None,
        "message": "The database is not set up."}


@pytest.mark.django_db
def test_import_json_summary_has_no_error(owner, tmp_path):
    output = io.StringIO()

    call_command("import", "vendors", str(EXAMPLES / "vendors.csv"), "--json", stdout=output)

    assert json.loads(output.getvalue())["error"] is None


def _json_examples(markdown: str) -> list[dict]:
    """Return the JSON objects of the docs' section on JSON output, in order."""
    section = markdown.split("## JSON output", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^    \{\n(?:    .*\n)*?    \}$", section, re.MULTILINE)
    return [json.loads(textwrap.dedent(block)) for block in blocks]


@pytest.mark.django_db
def test_docs_json_examples_are_real(owner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("prices.csv").write_text("sku,description,price\nA1,Mug,abc\n")
    Path("items.csv").write_text("sku,description,price\nA1,\"Mug,3.00\n")
    printed = []
    for name in ("prices.csv", "items.csv"):
        output = io.StringIO()
        with pytest.raises(CommandError):
            call_command("import", "items", name, "--json", stdout=output, verbosity=0)
        printed.append(json.loads(output.getvalue()))

    assert _json_examples(IMPORT_DOCS.read_text()) == printed


@pytest.mark.django_db
def test_unreadable_file_rejected(owner, tmp_path, monkeypatch):
    path = tmp_path / "items.csv"
    path.write_text("sku,description,price\nA1,Mug,3.00\n")

    def read_fails(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", read_fails)

    with pytest.raises(CommandError) as raised:
        call_command("import", "items", str(path), verbosity=0)

    assert str(raised.value) == (
        f"{path} cannot be read (Permission denied). Check that the file exists and that you "
        "may read it.")


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


INACTIVE_ADVICE = {
    "items": "an active owner's or manager's account",
    "vendors": "an active owner's or manager's account",
    "customers": "an active account",
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(INACTIVE_ADVICE))
def test_import_command_rejects_deactivated_user(owner, kind, tmp_path):
    rita = user_create(username="rita", role="owner", password="correct-horse-battery")
    rita.is_active = False
    rita.save(update_fields=["is_active"])
    path = tmp_path / f"{kind}.csv"
    path.write_text({"items": "sku,description,price\nA1,Mug,3.00\n",
                     "vendors": "code,name\nW,Vendor W\n",
                     "customers": "name\nNed\n"}[kind])

    with pytest.raises(CommandError) as raised:
        call_command("import", kind, str(path), "--user", "rita", stdout=io.StringIO(),
                     verbosity=0)

    assert str(raised.value) == (
        f"User 'rita' is deactivated, so the import cannot act as it. Pass --user with "
        f"{INACTIVE_ADVICE[kind]}, or have an owner activate 'rita' on the Users screen.")
    assert not Item.objects.exists()
    assert not Vendor.objects.exists()
    assert not Customer.objects.filter(name="Ned").exists()


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


CSV_ERRORS = [
    (HEADER + "A1,Mug,3.00,V\nA2," + "x" * 200_000 + ",3.00,V\n", 3,
     "a cell is longer than 131072 characters"),
    (HEADER + "A1,Mug,3.00,V\nA2,\"Open quote,3.00,V\n" + "A3,Cup,2.00,V\n" * 20_000, 3,
     "a cell is longer than 131072 characters"),
    (HEADER + "A1,Mug,3.00,V\nA2,\"Open quote,3.00,V\nA3,Cup,2.00,V\n", 3,
     "a quote (\") opens a cell and is never closed"),
    (HEADER + "A1,\"Mug\"s,3.00,V\n", 2, "the CSV is malformed"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("text", "line", "reason"), CSV_ERRORS, ids=[
    "long cell", "unclosed quote in long file", "unclosed quote", "text after quote"])
def test_malformed_csv_rejected_with_line(owner, vendor, tmp_path, text, line, reason):
    path = tmp_path / "items.csv"
    path.write_text(text)

    with pytest.raises(CommandError) as raised:
        call_command("import", "items", str(path), verbosity=0)

    message = str(raised.value)
    assert message.startswith(f"{path}, line {line}: ")
    assert reason in message
    assert message.endswith("Nothing was written.")
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_non_utf8_byte_named_with_line(owner, tmp_path):
    path = tmp_path / "items.csv"
    lines = ["sku,description,price\n", "Z8,Mug,3.00\n", "Z9,Caf\xe9 mug,3.00\n"]
    path.write_bytes(b"\xef\xbb\xbf" + "".join(lines).encode("latin-1"))
    offset = 3 + len(lines[0]) + len(lines[1]) + len("Z9,Caf")

    with pytest.raises(CommandError) as raised:
        call_command("import", "items", str(path), verbosity=0)

    assert f"byte {offset} (0xE9) on line 3 cannot be read" in str(raised.value)
    assert not Item.objects.exists()


def _transcript(markdown: str) -> list[tuple[list[str], list[str]]]:
    """Split the first block of `$ backroom ...` lines into commands and what each prints."""
    steps: list[tuple[list[str], list[str]]] = []
    for line in markdown.splitlines():
        if line.startswith("    $ backroom "):
            steps.append((shlex.split(line.removeprefix("    $ backroom ")), []))
        elif steps and line.startswith("    "):
            steps[-1][1].append(line.removeprefix("    "))
        elif steps:
            break
    return steps


@pytest.mark.django_db
def test_docs_example_output_is_real(owner, monkeypatch):
    monkeypatch.chdir(REPOSITORY)
    steps = _transcript(IMPORT_DOCS.read_text())

    assert [arguments[:3] for arguments, _ in steps] == [
        ["import", "vendors", "docs/examples/vendors.csv"],
        ["import", "items", "docs/examples/items-with-errors.csv"],
        ["import", "items", "docs/examples/items-with-errors.csv"]]
    for arguments, expected in steps:
        output = io.StringIO()
        try:
            call_command(*arguments, stdout=output, verbosity=0)
        except CommandError as error:
            output.write(f"CommandError: {error}\n")
        assert output.getvalue().splitlines() == expected, arguments


@pytest.mark.django_db
def test_import_command_lists_every_problem(owner, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("sku,description,price\n" + "".join(
        f"A{number},Mug,abc\n" for number in range(1, 178)))
    output = io.StringIO()

    with pytest.raises(CommandError, match="^177 of 177 rows are invalid"):
        call_command("import", "items", str(path), stdout=output, verbosity=0)

    lines = output.getvalue().splitlines()
    assert lines[:-1] == [
        f"row {number}, price: 'abc' is not a number; write it like 4.00. [invalid_number]"
        for number in range(2, 179)]
    assert lines[-1].startswith("items: 177 rows, 0 would be created")


def _summary_line(*arguments: str) -> str:
    """Run the import command and return its last line of output, the summary."""
    output = io.StringIO()
    # An import with invalid rows prints its summary, then raises CommandError.
    with contextlib.suppress(CommandError):
        call_command("import", *arguments, stdout=output, verbosity=0)
    return output.getvalue().splitlines()[-1]


@pytest.mark.django_db
def test_summary_unchanged_says_nothing_changed(owner, vendor, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(HEADER + "A1,Mug,3.00,V\n")

    first = _summary_line("items", str(path))
    second = _summary_line("items", str(path))

    assert first == "items: 1 row, 1 created, 0 updated, 0 unchanged, 0 rejected (written)"
    assert second == ("items: 1 row, 0 created, 0 updated, 1 unchanged, 0 rejected "
                      "(nothing changed)")


@pytest.mark.django_db
def test_summary_unwritten_rows_would_be(owner, vendor, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(HEADER + "A1,Mug,3.00,V\nA2,Cup,abc,V\n")

    dry_run = _summary_line("items", str(path), "--dry-run")
    rejected = _summary_line("items", str(path))
    skipped = _summary_line("items", str(path), "--skip-invalid")

    assert dry_run == ("items: 2 rows, 1 would be created, 0 would be updated, 0 unchanged, "
                       "1 rejected (dry run, nothing written)")
    assert rejected == ("items: 2 rows, 1 would be created, 0 would be updated, 0 unchanged, "
                        "1 rejected (nothing written)")
    assert skipped == ("items: 2 rows, 1 created, 0 updated, 0 unchanged, 1 rejected "
                       "(valid rows written, rejected rows skipped)")
    assert list(Item.objects.values_list("sku", flat=True)) == ["A1"]


@pytest.mark.django_db
def test_dry_run_with_skip_invalid_succeeds(owner, vendor, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(HEADER + "A1,Mug,3.00,V\nA2,Cup,abc,V\n")
    output = io.StringIO()

    call_command("import", "items", str(path), "--dry-run", "--skip-invalid", stdout=output,
                 verbosity=0)

    assert output.getvalue().splitlines()[-1] == (
        "items: 2 rows, 1 would be created, 0 would be updated, 0 unchanged, 1 rejected "
        "(dry run, nothing written)")
    assert not Item.objects.filter(sku__in=["A1", "A2"]).exists()


@pytest.mark.django_db
def test_invalid_rows_error_counts_rows(owner, vendor, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(HEADER + "A2,Cup,abc,V\n")
    path.with_name("two.csv").write_text(HEADER + "A1,Mug,3.00,V\nA2,Cup,abc,V\n")

    with pytest.raises(CommandError, match="^1 of 1 row is invalid; nothing was written"):
        call_command("import", "items", str(path), stdout=io.StringIO(), verbosity=0)
    with pytest.raises(CommandError, match="^1 of 2 rows is invalid; nothing was written"):
        call_command("import", "items", str(path.with_name("two.csv")),
                     stdout=io.StringIO(), verbosity=0)


@pytest.mark.django_db
def test_barcode_on_earlier_row_named(owner):
    text = "sku,description,price,barcode\nB1,Mug,3.00,501\nB2,Cup,2.00,501\n"

    result = import_text(user=owner, kind_name="items", text=text)

    assert [(problem.row, problem.field, problem.code) for problem in result.problems] == [
        (3, "barcode", "duplicate_key")]
    assert result.problems[0].message == (
        "Barcode '501' is also on row 2 (SKU B1); give each barcode to one item.")
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_barcode_of_item_not_in_file_rejected(owner, card):
    Barcode.objects.create(item=card, code="501")
    text = "sku,description,price,barcode\nB1,Mug,3.00,501\nB2,Cup,2.00,502\n"

    result = import_text(user=owner, kind_name="items", text=text)

    assert [(problem.row, problem.field, problem.code) for problem in result.problems] == [
        (2, "barcode", "duplicate_key")]
    assert result.problems[0].message == (
        "Barcode '501' belongs to the item with SKU A; give each barcode to one item.")


def _documented_codes() -> set[str]:
    table = IMPORT_DOCS.read_text().split("## Problem codes", 1)[1]
    return set(re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE))


ROW_PROBLEMS = [
    ("items", "sku,description,price\n,No SKU,1.00\n", "missing_value"),
    ("items", "sku,description,price\nA1,Mug,abc\n", "invalid_number"),
    ("items", "sku,description,price\nA1,Mug,-1.00\n", "negative_value"),
    ("items", "sku,description,price,taxable\nA1,Mug,1.00,maybe\n", "invalid_flag"),
    ("items", "sku,description,price\nA1,Mug,1.00\nA1,Cup,2.00\n", "duplicate_key"),
    ("items", "sku,description,price,vendor\nA1,Mug,1.00,NOPE\n", "unknown_vendor"),
    ("items", "sku,description,price\nA1," + "m" * 301 + ",1.00\n", "invalid_value"),
    ("items", "sku,description,price\nA1,Mug\x00,1.00\n", "validation_error"),
    ("customers", "id,name\n999,Nobody\n", "not_found"),
    ("customers", "name\n" + "n" * 201 + "\n", "invalid_value"),
    ("customers", "name,phone\nNed," + "5" * 41 + "\n", "invalid_value"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "text", "code"), ROW_PROBLEMS, ids=[
    "no sku", "price not a number", "negative price", "flag not yes or no", "sku twice",
    "unknown vendor", "long description", "nul character", "unknown customer id",
    "long customer name", "long phone"])
def test_problem_code_documented(owner, kind, text, code):
    result = import_text(user=owner, kind_name=kind, text=text)

    assert code in [problem.code for problem in result.problems]
    assert code in _documented_codes()


@pytest.mark.django_db
def test_vendor_created_meanwhile_is_conflict(owner, monkeypatch):
    create_vendor = upserts.vendor_create

    def create_after_another_user(*, user, code, **fields):
        Vendor.objects.create(code=code, name="Created by another user")
        return create_vendor(user=user, code=code, **fields)

    monkeypatch.setattr(upserts, "vendor_create", create_after_another_user)

    result = import_text(user=owner, kind_name="vendors", text="code,name\nW,Vendor W\n")

    assert [problem.code for problem in result.problems] == ["conflict"]
    assert "conflict" in _documented_codes()


NUL_UPDATES = [
    ("items", "sku,description,price\nA1,Mug,1.00\n", "sku,description,price\nA1,Mug\x00,1.00\n",
     "description"),
    ("items", "sku,description,price\nA1,Mug,1.00\n", "sku,description,price\nA\x001,Mug,1.00\n",
     "sku"),
    ("vendors", "code,name\nW,Vendor W\n", "code,name\nW,Vendor\x00W\n", "name"),
    ("customers", "external_id,name\nX1,Ned\n", "external_id,name\nX\x001,Ned\n",
     "external_id"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "first", "second", "field"), NUL_UPDATES,
                         ids=["item update", "item key", "vendor update", "customer key"])
def test_nul_character_rejected_before_lookup(owner, kind, first, second, field):
    import_text(user=owner, kind_name=kind, text=first)

    result = import_text(user=owner, kind_name=kind, text=second)

    assert [(problem.row, problem.field, problem.code) for problem in result.problems] == [
        (2, field, "validation_error")]
    assert "NUL character" in result.problems[0].message
    assert result.written is False


@pytest.mark.django_db
def test_row_with_extra_cells_rejected(owner):
    text = "sku,price,description\n90000,3.00,HOOK\n90001,4.00,HANDLE, LARGE\n"

    result = import_text(user=owner, kind_name="items", text=text)

    assert [(problem.row, problem.field, problem.code) for problem in result.problems] == [
        (3, "row", "too_many_cells")]
    assert "row has 4 cells but the header has 3" in result.problems[0].message
    assert "' LARGE'" in result.problems[0].message
    assert "too_many_cells" in _documented_codes()
    assert result.written is False
    assert Item.objects.count() == 0


@pytest.mark.django_db
def test_row_with_extra_cells_skipped(owner):
    text = "sku,price,description\n90000,3.00,HOOK\n90001,4.00,HANDLE, LARGE\n"

    result = import_text(user=owner, kind_name="items", text=text, skip_invalid=True)

    assert (result.created, result.rejected, result.written) == (1, 1, True)
    assert list(Item.objects.values_list("sku", flat=True)) == ["90000"]


@pytest.mark.django_db
def test_column_mapping_unknown_header_rejected(owner):
    text = "sku,description,RRP\nZ1,Zebra mug,6.50\n"

    with pytest.raises(ValidationFailed) as raised:
        import_text(user=owner, kind_name="items", text=text,
                    column_overrides={"price": "RRX"})

    assert "'RRX'" in str(raised.value)
    assert "sku, description, RRP" in str(raised.value)
    assert Item.objects.count() == 0


@pytest.mark.django_db
def test_column_mapping_beats_alias_match(owner):
    text = "sku,description,RRP,price\nZ1,Zebra mug,6.50,5.00\n"

    result = import_text(user=owner, kind_name="items", text=text,
                         column_overrides={"price": "RRP"})

    assert result.created == 1
    assert result.ignored_columns == ["price"]
    assert Item.objects.get(sku="Z1").price == Decimal("6.50")


@pytest.mark.django_db
def test_import_command_names_replaced_column(owner, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("sku,description,RRP,price\nZ1,Zebra mug,6.50,5.00\n")
    output = io.StringIO()

    call_command("import", "items", str(path), "--column", "price=RRP", stdout=output)

    assert "column 'price' ignored: --column reads the field 'price' from 'RRP'" \
        in output.getvalue()


@pytest.mark.django_db
def test_import_command_rejects_field_mapped_twice(owner, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("sku,description,RRP,Retail\nZ1,Zebra mug,6.50,5.00\n")

    with pytest.raises(CommandError) as raised:
        call_command("import", "items", str(path), "--column", "price=RRP",
                     "--column", "price=Retail", verbosity=0)

    assert "gives the field 'price' twice, from the columns 'RRP' and 'Retail'" \
        in str(raised.value)
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_import_command_accepts_same_mapping_twice(owner, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("sku,description,RRP,Retail\nZ1,Zebra mug,6.50,5.00\n")

    call_command("import", "items", str(path), "--column", "price=RRP",
                 "--column", "price=rrp", verbosity=0, stdout=io.StringIO())

    assert Item.objects.get(sku="Z1").price == Decimal("6.50")


@pytest.mark.django_db
def test_column_mapping_reads_one_header_twice(owner):
    text = "Code,Title,RRP\nZ2,Zebra cup,6.50\n"

    result = import_text(user=owner, kind_name="items", text=text, column_overrides={
        "sku": "Code", "vendor_sku": "Code", "description": "Title", "price": "RRP"})

    assert result.created == 1
    assert Item.objects.get(sku="Z2").vendor_sku == "Z2"


@pytest.mark.django_db
@pytest.mark.parametrize("mapping", [[], ["--column", "sku=SKU"]], ids=["plain", "mapped"])
def test_duplicate_header_needs_file_change(owner, tmp_path, mapping):
    path = tmp_path / "items.csv"
    path.write_text("SKU,SKU,description,price\nA1,A1,Mug,3.00\n")

    with pytest.raises(CommandError) as raised:
        call_command("import", "items", str(path), *mapping, verbosity=0)

    assert str(raised.value) == (
        "Columns 1 ('SKU') and 2 ('SKU') both map to the field 'sku', and their names "
        "match, so --column cannot choose between them. Rename or remove one of them in "
        "the file.")
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_two_columns_for_field_advice_works(owner, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("SKU,Item,description,price\nA1,B1,Mug,3.00\n")

    with pytest.raises(CommandError) as raised:
        call_command("import", "items", str(path), verbosity=0)
    call_command("import", "items", str(path), "--column", "sku=SKU", verbosity=0,
                 stdout=io.StringIO())

    assert str(raised.value) == (
        "Columns 1 ('SKU') and 2 ('Item') both map to the field 'sku'. Remove one of them, "
        "or choose one with --column sku=SKU.")
    assert list(Item.objects.values_list("sku", flat=True)) == ["A1"]


@pytest.mark.django_db
def test_column_mapping_names_displaced_field(owner):
    text = "sku,description,price\nZ3,Zebra plate,4.00\n"

    with pytest.raises(ValidationFailed) as raised:
        import_text(user=owner, kind_name="items", text=text,
                    column_overrides={"vendor_sku": "sku"})

    assert "no column for sku" in str(raised.value)
    assert "add --column sku=sku to read sku from it as well" in str(raised.value)
    assert not Item.objects.exists()
