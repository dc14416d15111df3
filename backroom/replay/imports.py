"""Importing items, vendors and customers from CSV files.

A file's header names its columns; each column maps to a field by its name
or one of the field's aliases (only letters and digits count, in any case), and
`column_overrides` can map any header to one or more fields, which then take
precedence over a header that matches them by name or alias. A mapped header
supplies only the fields mapped to it. A row with more cells than the header
is invalid, and so is a text longer than the max_length of its model field.
Every row is checked first and then written through the catalog and customer
services, each in its own savepoint inside one transaction. When
any row is invalid nothing is written, unless `skip_invalid` is set: then the
valid rows are written and the others listed. A dry run checks and counts
everything, then rolls back.
"""

import csv
import io
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import CharField, Model
from tqdm import tqdm

from backroom.accounts.permissions import require
from backroom.catalog.models import Barcode, Item, Vendor
from backroom.core.errors import BackroomError, ValidationFailed, shown
from backroom.core.money import CENT, MAX_AMOUNT, PLAIN_DECIMAL
from backroom.customers.models import Customer
from backroom.replay import upserts

logger = logging.getLogger(__name__)

TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "f"}
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
# Digits of a count at most, far within what int() reads: a longer one is rejected here,
# a shorter one out of range by the catalog service with its allowed range.
COUNT_DIGITS = 100


@dataclass(frozen=True)
class Column:
    """A field an import file can carry, with the header names that map to it."""

    name: str
    kind: str = "text"  # text, money, count, flag or email
    required: bool = False
    aliases: tuple[str, ...] = ()
    # The max_length of the model field that stores a text or email column.
    max_length: int | None = None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row; `code` is a stable snake_case name."""

    row: int
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "code": self.code,
                "message": self.message}


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    written: bool = False
    dry_run: bool = False
    problems: list[Problem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "rows": self.rows, "created": self.created,
            "updated": self.updated, "unchanged": self.unchanged, "rejected": self.rejected,
            "written": self.written, "dry_run": self.dry_run,
            "ignored_columns": self.ignored_columns,
            "problems": [problem.as_dict() for problem in self.problems],
        }


@dataclass(frozen=True)
class ImportKind:
    """What one kind of record needs: its columns, its key and its upsert service."""

    name: str
    columns: tuple[Column, ...]
    key: Callable[[dict[str, Any]], str | None]
    upsert: Callable[..., str]
    # The permission the importing user needs, checked once before any row.
    permission: str | None = None

    def column_for(self, header: str) -> Column | None:
        """Find the column a header matches by its name or one of its aliases."""
        key = _column_key(header)
        for known in self.columns:
            if key in (_column_key(alias) for alias in (known.name, *known.aliases)):
                return known
        return None


def _column_key(header: str) -> str:
    """Reduce a header to lower-case letters and digits: "Unit Price", "unit_price" and
    "UnitPrice" all match."""
    return re.sub(r"[^a-z0-9]", "", header.lower())


def same_header(first: str, second: str) -> bool:
    """Return whether two header names match one column, compared on letters and digits."""
    return _column_key(first) == _column_key(second)


def _max_length(model: type[Model], field_name: str) -> int:
    """Return the max_length of a model's text field, which its database column enforces."""
    model_field = model._meta.get_field(field_name)
    if not isinstance(model_field, CharField) or model_field.max_length is None:
        raise TypeError(f"{model.__name__}.{field_name} is not a text field with a max_length.")
    return model_field.max_length


ITEM_COLUMNS = (
    Column("sku", required=True, aliases=("item", "stock_code", "stockcode", "code"),
           max_length=_max_length(Item, "sku")),
    Column("description", required=True, aliases=("name", "title"),
           max_length=_max_length(Item, "description")),
    Column("price", "money", required=True, aliases=("retail_price", "unit_price", "retail")),
    Column("cost", "money", aliases=("unit_cost",)),
    Column("vendor", aliases=("vendor_code", "supplier"),
           max_length=_max_length(Vendor, "code")),
    Column("vendor_sku", aliases=("vendor_item_code", "supplier_sku"),
           max_length=_max_length(Item, "vendor_sku")),
    Column("category", max_length=_max_length(Item, "category")),
    Column("barcode", aliases=("upc", "ean"), max_length=_max_length(Barcode, "code")),
    Column("taxable", "flag"),
    Column("tracked", "flag", aliases=("stock_tracked",)),
    Column("reorder_point", "count", aliases=("min", "reorder_level")),
    Column("reorder_quantity", "count", aliases=("reorder_qty",)),
)
VENDOR_COLUMNS = (
    Column("code", required=True, aliases=("vendor", "vendor_code"),
           max_length=_max_length(Vendor, "code")),
    Column("name", required=True, aliases=("vendor_name",),
           max_length=_max_length(Vendor, "name")),
    Column("email", "email", aliases=("e_mail",), max_length=_max_length(Vendor, "email")),
    Column("lead_time_days", "count", aliases=("lead_time", "lead_days")),
)
CUSTOMER_COLUMNS = (
    Column("id", "count", aliases=("customer_id",)),
    Column("external_id", aliases=("customer_number", "account"),
           max_length=_max_length(Customer, "external_id")),
    Column("name", required=True, aliases=("customer", "full_name"),
           max_length=_max_length(Customer, "name")),
    Column("email", "email", aliases=("e_mail",), max_length=_max_length(Customer, "email")),
    Column("phone", aliases=("telephone", "phone_number"),
           max_length=_max_length(Customer, "phone")),
    Column("notify", "flag", aliases=("consent", "notifications")),
)


def _customer_key(values: dict[str, Any]) -> str | None:
    for name in ("id", "external_id", "email"):
        if values.get(name) not in (None, ""):
            return f"{name}:{str(values[name]).lower()}"
    return None


KINDS = {
    "items": ImportKind("items", ITEM_COLUMNS, lambda values: values.get("sku"),
                        upserts.item_upsert, permission="manage_catalog"),
    "vendors": ImportKind("vendors", VENDOR_COLUMNS, lambda values: values.get("code"),
                          upserts.vendor_upsert, permission="manage_catalog"),
    "customers": ImportKind("customers", CUSTOMER_COLUMNS, _customer_key,
                            upserts.customer_upsert),
}


# ---------------------------------------------------------------- reading and parsing


def map_columns(kind: ImportKind, header: list[str], overrides: dict[str, str] | None = None
                ) -> tuple[list[tuple[int, Column]], list[str]]:
    """Map header positions to columns; return the (position, column) pairs and the
    ignored headers.

    A header that `overrides` names supplies the fields mapped to it there and no
    other, and several fields may share it. A header that matches one of those
    fields by name or alias is then ignored. Raise ValidationFailed when an
    override names an unknown field or a header the file lacks, a required column
    is missing or two headers map to the same field.
    """
    overrides = overrides or {}
    columns = {known.name: known for known in kind.columns}
    _overrides_check(kind, header, overrides)
    forced: dict[str, list[str]] = {}
    for field_name, header_name in overrides.items():
        forced.setdefault(_column_key(header_name), []).append(field_name)

    mapping: list[tuple[int, Column]] = []
    ignored: list[str] = []
    seen: dict[str, tuple[int, str]] = {}  # field name: the position and header supplying it
    # Fields that a header matches by name or alias but does not supply, because
    # an override maps that header to other fields.
    displaced: dict[str, str] = {}
    for position, header_name in enumerate(header):
        key = _column_key(header_name)
        natural = kind.column_for(header_name)
        if key in forced:
            matched = [columns[field_name] for field_name in forced[key]]
            if natural is not None and natural.name not in overrides:
                displaced.setdefault(natural.name, header_name)
        elif natural is not None and natural.name not in overrides:
            matched = [natural]
        else:
            ignored.append(header_name)
            continue
        for column in matched:
            if column.name in seen:
                raise _two_columns_for_field(column.name, *seen[column.name],
                                             position, header_name)
            seen[column.name] = (position, header_name)
            mapping.append((position, column))
    missing = [known.name for known in kind.columns if known.required and known.name not in seen]
    if missing and len(header) == 1:
        _separator_check(header[0])
    if missing:
        hints = "".join(
            f" Column '{displaced[name]}' would supply {name}, but a column mapping reads it "
            f"into other fields only; add --column {name}={displaced[name]} to read {name} "
            "from it as well."
            for name in missing if name in displaced)
        raise ValidationFailed(
            f"The file has no column for {', '.join(missing)}; the header is "
            f"{','.join(header)!r}. Rename the column or map it with --column.{hints}",
            field=missing[0])
    return mapping, ignored


OTHER_SEPARATORS = {";": "semicolons (;)", "\t": "tabs"}


def _separator_check(header_cell: str) -> None:
    """Raise ValidationFailed when a header read as one column contains a semicolon or a
    tab, which spreadsheets write between cells in place of commas."""
    for separator, name in OTHER_SEPARATORS.items():
        if separator in header_cell:
            raise ValidationFailed(
                f"The file seems to be separated by {name}: its header {header_cell!r} reads "
                "as one column, because the import reads comma-separated files. Save the "
                "file as CSV with commas between the cells and points in the numbers (4.50, "
                "not 4,50), then import it again.", field="file", line=1)


def _two_columns_for_field(field_name: str, first_position: int, first_header: str,
                           position: int, header_name: str) -> ValidationFailed:
    """Explain that two columns supply one field, and how to keep one of them."""
    columns = (f"Columns {first_position + 1} ('{first_header}') and {position + 1} "
               f"('{header_name}') both map to the field '{field_name}'")
    if same_header(first_header, header_name):
        # --column names a column by its header, which here fits both columns.
        advice = (", and their names match, so --column cannot choose between them. Rename "
                  "or remove one of them in the file.")
    else:
        advice = (f". Remove one of them, or choose one with --column "
                  f"{field_name}={first_header}.")
    return ValidationFailed(columns + advice, field=field_name)


def _overrides_check(kind: ImportKind, header: list[str], overrides: dict[str, str]) -> None:
    """Raise ValidationFailed when an override names a field the kind lacks or a header
    the file lacks."""
    columns = [known.name for known in kind.columns]
    header_keys = {_column_key(header_name) for header_name in header}
    for field_name, header_name in overrides.items():
        if field_name not in columns:
            raise ValidationFailed(
                f"Unknown {kind.name} field '{field_name}' in a column mapping; use one of "
                f"{', '.join(columns)}.", field="columns")
        if _column_key(header_name) not in header_keys:
            raise ValidationFailed(
                f"The file has no column '{header_name}' for the column mapping "
                f"{field_name}={header_name}; its headers are {', '.join(header)}. Map "
                f"{field_name} to one of those.", field="columns")


def parse_value(column: Column, text: str) -> tuple[Any, tuple[str, str] | None]:
    """Parse one cell; return (value, None) or (None, (code, message)). Empty cells are None."""
    text = text.strip()
    if text == "":
        return None, None
    if "\x00" in text:
        # Checked here for every cell, because PostgreSQL rejects a NUL even in a lookup.
        return None, ("validation_error", f"The {column.name.replace('_', ' ')} contains a "
                                          "NUL character (\\u0000); remove it.")
    if column.max_length is not None and len(text) > column.max_length:
        # Checked for every text cell, because PostgreSQL rejects a longer value with an
        # error that ends the import, and SQLite stores it whole.
        return None, ("invalid_value", f"The {column.name.replace('_', ' ')} '{shown(text)}' has "
                                       f"{len(text)} characters; the maximum is "
                                       f"{column.max_length}. Shorten it.")
    if column.kind == "money":
        return _parse_amount(text)
    if column.kind == "count":
        # int() also reads "1_000" and digits of other scripts, which no count in a file means.
        if not WHOLE_NUMBER.fullmatch(text):
            return None, ("invalid_number", f"'{shown(text)}' is not a whole number.")
        if len(text.lstrip("+-").lstrip("0")) > COUNT_DIGITS:
            return None, ("invalid_number", f"'{shown(text)}' is too large; give a whole "
                                            f"number of at most {COUNT_DIGITS} digits.")
        count = int(text)
        if count < 0:
            return None, ("negative_value", f"{shown(text)} is negative; give 0 or more.")
        return count, None
    if column.kind == "flag":
        word = text.lower()
        if word in TRUE_WORDS:
            return True, None
        if word in FALSE_WORDS:
            return False, None
        return None, ("invalid_flag", f"'{shown(text)}' is not yes or no.")
    if column.kind == "email":
        try:
            validate_email(text)
            # As the customer service checks it: the domain must have an IDNA form to send to.
            text.rpartition("@")[2].encode("idna")
        except (ValidationError, UnicodeError):
            return None, ("invalid_value", f"'{shown(text)}' is not a valid e-mail address.")
    return text, None


def _parse_amount(text: str) -> tuple[Decimal | None, tuple[str, str] | None]:
    """Parse a money amount of at most two decimals, 0 or more."""
    # Decimal() also reads "1e3", "NaN" and "Infinity", which are no prices.
    if not PLAIN_DECIMAL.match(text):
        return None, ("invalid_number", f"'{shown(text)}' is not a number; write it like "
                                        "4.00.")
    amount = Decimal(text)
    # quantize() raises InvalidOperation when the result needs more than the context's 28
    # digits. An amount above MAX_AMOUNT is returned unchecked, so that the catalog
    # service rejects it with its allowed range, as it does every amount out of range.
    if amount.copy_abs() <= MAX_AMOUNT and amount != amount.quantize(CENT):
        return None, ("invalid_number", f"'{shown(text)}' has more than two decimals; round it to "
                                        "cents, like 4.51.")
    if amount < 0:
        return None, ("negative_value", f"{shown(text)} is negative; give 0 or more.")
    # copy_abs() turns "-0" into 0 and, unlike abs(), never rounds to 28 digits.
    return amount.copy_abs(), None


def parse_rows(kind: ImportKind, mapping: list[tuple[int, Column]], header_size: int,
               records: Iterable[tuple[int, list[str]]]
               ) -> Iterable[tuple[int, dict[str, Any], list[Problem]]]:
    """Parse each record into field values, with the problems found in its cells.

    A record with more cells than the header gets only a `too_many_cells` problem,
    because an unquoted comma has shifted its cells and none of them can be trusted.
    """
    for row_number, cells in records:
        values: dict[str, Any] = {}
        problems: list[Problem] = []
        if len(cells) > header_size:
            problems.append(_too_many_cells(row_number, cells, header_size))
            yield row_number, values, problems
            continue
        for position, column in mapping:
            text = cells[position] if position < len(cells) else ""
            value, problem = parse_value(column, text)
            if problem is not None:
                problems.append(Problem(row_number, column.name, *problem))
            elif value is not None:
                values[column.name] = value
            elif column.required:
                problems.append(Problem(row_number, column.name, "missing_value",
                                        f"The {column.name} is missing."))
        yield row_number, values, problems


def _too_many_cells(row_number: int, cells: list[str], header_size: int) -> Problem:
    extra = ",".join(cells[header_size:])
    if len(extra) > 60:
        extra = extra[:57] + "..."
    return Problem(row_number, "row", "too_many_cells",
                   f"The row has {len(cells)} cells but the header has {header_size}; the "
                   f"extra text is {extra!r}. Put double quotes around each cell that "
                   "contains a comma.")


def read_records(text: str, source: str = "The CSV text"
                 ) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Split CSV text into its header and its non-blank records, each with its line number.

    Raise ValidationFailed naming `source` and the line when the text is not valid CSV.
    """
    # With strict=True an unclosed quote raises csv.Error at the end of the file, where
    # the default reader silently takes every following line into one cell.
    reader = csv.reader(io.StringIO(text), strict=True)
    records = []
    line = 0  # the line on which the previous record ended
    try:
        header = next(reader, None)
        if not header:
            raise ValidationFailed(f"{source} is empty; it needs a header row.", field="file")
        line = reader.line_num
        for cells in reader:
            if any(cell.strip() for cell in cells):
                records.append((line + 1, cells))
            line = reader.line_num
    except csv.Error as error:
        raise _csv_error(source, line + 1, error) from None
    if not records:
        raise ValidationFailed(f"{source} has a header row but no rows below it; add the rows "
                               "to import under the header.", field="file")
    return header, records


def _csv_error(source: str, line: int, error: csv.Error) -> ValidationFailed:
    """Explain a CSV syntax error in the record that starts on `line`, and how to fix it."""
    reason = str(error)
    if reason.startswith("field larger than field limit"):
        advice = (f"a cell is longer than {csv.field_size_limit()} characters, the maximum. "
                  "Shorten it, or close the quote (\") that opens it if the cell runs on "
                  "into the following lines by mistake.")
    elif reason == "unexpected end of data":
        advice = ("a quote (\") opens a cell and is never closed. Close it with a second "
                  "quote, or remove it.")
    else:
        advice = (f"the CSV is malformed ({reason}). Put quotes only around whole cells, and "
                  "write a quote inside a quoted cell as two quotes (\"\").")
    return ValidationFailed(f"{source}, line {line}: {advice} Nothing was written.",
                            field="file", line=line)


# ---------------------------------------------------------------- running an import


def import_file(*, user, kind_name: str, path: Path | str, dry_run: bool = False,
                skip_invalid: bool = False, column_overrides: dict[str, str] | None = None,
                progress: bool = True) -> ImportResult:
    """Check and upsert every row of a CSV file; see the module docstring for the rules."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ValidationFailed(f"{path} cannot be read ({error.strerror or error}). Check that "
                               "the file exists and that you may read it.",
                               field="file") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _not_utf8(path, data, error) from None
    # Universal newlines, as a file opened in text mode reads them.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return import_text(user=user, kind_name=kind_name, text=text, dry_run=dry_run,
                       skip_invalid=skip_invalid, column_overrides=column_overrides,
                       progress=progress, source=str(path))


def _not_utf8(path: Path | str, data: bytes, error: UnicodeDecodeError) -> ValidationFailed:
    """Name the first byte of `data` that is not UTF-8, by its offset and its line."""
    # error.start counts from the end of the byte-order mark, when the file has one.
    offset = error.start + len(data) - len(error.object)
    line = data.count(b"\n", 0, offset) + 1
    return ValidationFailed(
        f"{path} is not UTF-8 text: byte {offset} (0x{data[offset]:02X}) on line {line} "
        "cannot be read. Save the file as \"CSV UTF-8\" and import it again.",
        field="file", line=line)


def import_text(*, user, kind_name: str, text: str, dry_run: bool = False,
                skip_invalid: bool = False, column_overrides: dict[str, str] | None = None,
                progress: bool = False, source: str = "The CSV text") -> ImportResult:
    """Check and upsert every row of CSV text; `source` names the text in errors."""
    kind = KINDS[kind_name]
    if kind.permission:
        require(user, kind.permission, f"import {kind.name}")
    header, records = read_records(text, source)
    mapping, ignored = map_columns(kind, header, column_overrides)
    result = ImportResult(kind=kind.name, rows=len(records), dry_run=dry_run,
                          ignored_columns=ignored)
    first_row_of: dict[str, int] = {}
    # Each barcode written by this import, with the row and SKU that wrote it.
    barcode_rows: dict[str, tuple[int, str]] = {}

    with transaction.atomic():
        rows = parse_rows(kind, mapping, len(header), records)
        for row_number, values, problems in tqdm(rows, total=len(records), unit="row",
                                                 desc=f"import {kind.name}",
                                                 disable=not progress):
            problems += _duplicate_problems(kind, row_number, values, first_row_of)
            if not problems:
                problems = _write_row(kind, user, row_number, values, result)
                problems = [_barcode_on_earlier_row(problem, values, barcode_rows)
                            for problem in problems]
                if not problems and values.get("barcode"):
                    barcode_rows.setdefault(values["barcode"], (row_number, values["sku"]))
            if problems:
                result.rejected += 1
                result.problems.extend(problems)
        keep = not dry_run and (skip_invalid or result.rejected == 0)
        if not keep:
            transaction.set_rollback(True)
    result.written = keep
    logger.info("import of %s: rows=%s created=%s updated=%s unchanged=%s rejected=%s "
                "written=%s", kind.name, result.rows, result.created, result.updated,
                result.unchanged, result.rejected, result.written)
    return result


def _duplicate_problems(kind: ImportKind, row_number: int, values: dict[str, Any],
                        first_row_of: dict[str, int]) -> list[Problem]:
    key = kind.key(values)
    if key is None:
        return []
    normalised = key.lower() if kind.name == "customers" else key
    first = first_row_of.setdefault(normalised, row_number)
    if first == row_number:
        return []
    field_name = key.split(":", 1)[0] if kind.name == "customers" else kind.columns[0].name
    return [Problem(row_number, field_name, "duplicate_key",
                    f"{field_name} '{values.get(field_name, key)}' is also on row {first}; "
                    "give each record once.")]


def _barcode_on_earlier_row(problem: Problem, values: dict[str, Any],
                            barcode_rows: dict[str, tuple[int, str]]) -> Problem:
    """Name the earlier row of the file that took a barcode, in place of the upsert's
    message that the barcode belongs to another item."""
    barcode = values.get("barcode")
    if problem.field != "barcode" or problem.code != "duplicate_key" \
            or barcode not in barcode_rows:
        return problem
    row_number, sku = barcode_rows[barcode]
    return Problem(problem.row, problem.field, problem.code,
                   f"Barcode '{barcode}' is also on row {row_number} (SKU {sku}); give each "
                   "barcode to one item.")


def _write_row(kind: ImportKind, user, row_number: int, values: dict[str, Any],
               result: ImportResult) -> list[Problem]:
    """Upsert one row in its own savepoint; return its problems (none when written)."""
    try:
        with transaction.atomic():
            outcome = kind.upsert(user=user, values=values)
    except upserts.RowInvalid as error:
        return [Problem(row_number, problem_field, code, message)
                for problem_field, code, message in error.problems]
    except BackroomError as error:
        return [Problem(row_number, error.field or "row", error.code, error.detail)]
    result.count(outcome)
    return []
