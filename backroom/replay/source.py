"""Reading the online-retail transaction log as a stream of invoices.

The file is a gzip-compressed CSV (UCI "Online Retail", CC BY 4.0, Chen et
al. 2012) with the columns InvoiceNo, StockCode, Description, Quantity,
InvoiceDate, UnitPrice, CustomerID and Country. It is read row by row and
never held in memory as a whole.
"""

import csv
import datetime
import gzip
import io
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from backroom.core.money import MAX_AMOUNT, round_money

# The retailer's times are UK local time.
SOURCE_TIME_ZONE = ZoneInfo("Europe/London")
COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
           "CustomerID", "Country")
PRODUCT_CODE = re.compile(r"^\d{5}")


class SourceError(ValueError):
    """The file is not the transaction log this module reads."""


@dataclass(frozen=True)
class RetailRow:
    number: int
    invoice: str
    stock_code: str
    description: str
    quantity: int
    at: datetime.datetime
    unit_price: Decimal
    customer: str
    country: str

    @property
    def is_product(self) -> bool:
        """Whether the code names a stocked product (five digits, maybe a variant letter)."""
        return is_product_code(self.stock_code)

    @property
    def is_stock_adjustment(self) -> bool:
        """A warehouse row: no customer, price 0, on an ordinary invoice.

        Rows of non-product codes count too (a dozen write-offs of DCGS codes),
        and the replay rejects them as adjustments of untracked charges.
        """
        return self.invoice[:1].isdigit() and not self.customer and self.unit_price == 0


@dataclass(frozen=True)
class Invoice:
    """One contiguous block of rows with the same invoice number."""

    number: str
    at: datetime.datetime
    customer: str
    rows: tuple[RetailRow, ...]

    @property
    def kind(self) -> str:
        """"sale", "cancellation" (prefix C) or "bad_debt" (prefix A)."""
        prefix = self.number[:1].upper()
        if prefix == "C":
            return "cancellation"
        if prefix == "A":
            return "bad_debt"
        return "sale"


def is_product_code(code: str) -> bool:
    return bool(PRODUCT_CODE.match(code))


# Prices and times are parsed once each and cached: the rows of an invoice share
# one time, and a few thousand distinct prices cover the whole year.
@lru_cache(maxsize=65536)
def parse_price(text: str) -> Decimal | None:
    """Parse a unit price, rounded half up to the cent (the source has up to three decimals).

    Returns None unless `text` is a plain decimal of at most MAX_AMOUNT once rounded.
    """
    # The pattern admits plain decimals only, so it rejects NaN, Infinity and 1e30.
    if not PRICE.fullmatch(text):
        return None
    price = Decimal(text)
    # Checked before rounding: quantize raises InvalidOperation on a result of more
    # than 28 digits, the precision of the default decimal context.
    if abs(price) >= PRICE_CEILING:
        return None
    price = round_money(price)
    return price if abs(price) <= MAX_AMOUNT else None


@lru_cache(maxsize=4096)
def _parse_time(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=SOURCE_TIME_ZONE)


def read_rows(path: Path | str) -> Iterator[RetailRow]:
    """Yield the rows of the gzip CSV file in file order, parsed.

    Raises SourceError for a file that is not a readable gzip CSV file, for a
    row that cannot be read, for a row dated before the one above it (the
    replay runs the rows in the file's order) and for a row dated after now.
    """
    _check_gzip(path)
    now = datetime.datetime.now(SOURCE_TIME_ZONE)
    try:
        with gzip.open(path, "rb") as raw:
            # utf-8-sig drops a byte-order mark before the header, if there is one.
            # Each invalid byte decodes to a lone surrogate, so that the header check and
            # _row can name the line that has it.
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape",
                                    newline="")
            reader = csv.reader(text)
            header = next(reader, None)
            if header is None:
                raise SourceError(f"{path} is empty; give the transaction log, for example "
                                  "online_retail.csv.gz.")
            for value in header:
                if (byte := _invalid_byte(value)) is not None:
                    raise SourceError(f"{path}, line 1: the header {_invalid_byte_message(byte)}")
            if tuple(header) != COLUMNS:
                raise SourceError(
                    f"{path}: expected the header {','.join(COLUMNS)}, found "
                    f"{','.join(header)}.")
            previous: RetailRow | None = None
            limits = text_limits()
            for number, fields in enumerate(reader, start=2):
                row = _row(number, fields, path, limits)
                if previous is not None and row.at < previous.at:
                    raise SourceError(
                        f"{path}, line {number}: InvoiceDate {row.at:%Y-%m-%d %H:%M} is earlier "
                        f"than {previous.at:%Y-%m-%d %H:%M} on line {previous.number}; sort the "
                        "file by InvoiceDate, keeping each invoice's rows together.")
                if row.at > now:
                    raise SourceError(
                        f"{path}, line {number}: InvoiceDate {row.at:%Y-%m-%d %H:%M} is in the "
                        f"future (it is now {now:%Y-%m-%d %H:%M} UK time); a transaction log "
                        "holds past invoices only, so correct the date.")
                previous = row
                yield row
    except EOFError:
        raise SourceError(
            f"{path} ends in the middle of its compressed data, so the file is cut short; "
            "copy or download it again.") from None
    except (gzip.BadGzipFile, zlib.error) as error:
        # A damaged file fails its CRC check or its deflate data.
        raise SourceError(
            f"{path} has damaged gzip data ({error}); copy or download it again.") from None
    except csv.Error as error:
        raise SourceError(f"{path} is not a valid CSV file ({error}); check its quotes and "
                          "commas.") from None
    except OSError as error:
        raise SourceError(f"{path} cannot be read ({error.strerror or error}); check the "
                          "file and its permissions.") from None


# The two bytes a gzip file starts with; Python's gzip module checks the same.
GZIP_MAGIC = b"\x1f\x8b"


def _check_gzip(path: Path | str) -> None:
    """Raise SourceError, in words, unless the file starts as a gzip file does."""
    try:
        with open(path, "rb") as raw:
            start = raw.read(len(GZIP_MAGIC))
    except OSError as error:
        raise SourceError(f"{path} cannot be read ({error.strerror or error}); check the "
                          "file and its permissions.") from None
    if not start:
        raise SourceError(f"{path} is empty; give the transaction log, for example "
                          "online_retail.csv.gz.")
    if start != GZIP_MAGIC:
        raise SourceError(
            f"{path} does not start like a gzip file; the replay reads a gzip-compressed CSV "
            f"file. Compress it with gzip (`gzip --keep {path}` writes {path}.gz) and replay "
            "that.")


WHOLE_NUMBER = re.compile(r"-?[0-9]+")
PRICE = re.compile(r"-?[0-9]+(\.[0-9]*)?")
# The sales services' limit on a line's quantity (MAX_LINE_QUANTITY); importing
# them here would load Django's models into this plain reader.
MAX_QUANTITY = 1_000_000
# Digits of the longest quantity text, with its minus sign.
QUANTITY_DIGITS = len(str(-MAX_QUANTITY))
# A price of at least this size is over MAX_AMOUNT whatever its decimals, and a
# smaller one rounds to the cent without leaving the decimal context's precision.
PRICE_CEILING = MAX_AMOUNT + 1


# Texts the replay writes from a row's values. Their fixed words take room in the
# column that each text goes into, so text_limits subtracts them.
CUSTOMER_NAME = "Customer {customer}, {country}"
CUSTOMER_EMAIL = "customer-{customer}@example.com"
RETURN_REASON = "Returned on invoice {invoice}"


@dataclass(frozen=True)
class TextLimit:
    """A column's maximum length in characters, and the stored text that sets it."""

    length: int
    stored_as: str


@lru_cache(maxsize=1)
def text_limits() -> dict[str, TextLimit]:
    """Return each text column's limit: the least room among the fields its values reach.

    The lengths come from the model fields. The models are imported here rather than
    at the top, so that importing this reader loads no Django models.
    """
    from backroom.catalog.models import Item, StockAdjustment
    from backroom.customers.models import Customer
    from backroom.replay.models import ReplayRun
    from backroom.sales.models import Payment

    def room(model, name: str, stored_as: str, text: str = "") -> TextLimit:
        """Return the room left in a model field once the fixed words of `text` are in."""
        max_length = model._meta.get_field(name).max_length
        return TextLimit(max_length - len(text), stored_as)

    customer = min(
        room(Customer, "external_id", "a customer's external id"),
        room(Customer, "email", "a customer's e-mail address",
             CUSTOMER_EMAIL.format(customer="")),
        key=lambda limit: limit.length)
    name = room(Customer, "name", "a customer's name",
                CUSTOMER_NAME.format(customer="", country=""))
    return {
        "InvoiceNo": min(
            room(ReplayRun, "last_invoice", "a replay run's last invoice"),
            room(Payment, "reason", "a refund's reason", RETURN_REASON.format(invoice="")),
            key=lambda limit: limit.length),
        "StockCode": room(Item, "sku", "an item's SKU"),
        "Description": min(
            room(Item, "description", "an item's description"),
            room(StockAdjustment, "reason", "a stock adjustment's reason"),
            key=lambda limit: limit.length),
        "CustomerID": customer,
        "Country": TextLimit(name.length - customer.length,
                             f"a customer's name with a CustomerID of {customer.length} digits"),
    }


def _row(number: int, fields: list[str], path: Path | str,
         limits: dict[str, TextLimit]) -> RetailRow:
    where = f"{path}, line {number}"
    if len(fields) != len(COLUMNS):
        raise SourceError(f"{where}: expected {len(COLUMNS)} cells, found {len(fields)}; check "
                          "the row's commas and quotes.")
    if not "".join(fields).isascii():
        for name, value in zip(COLUMNS, fields, strict=True):
            if (byte := _invalid_byte(value)) is not None:
                raise SourceError(f"{where}: {name} {_invalid_byte_message(byte)}")
    if any("\x00" in value for value in fields):
        raise SourceError(f"{where}: a cell contains a NUL character, which is invalid in a "
                          "CSV file; remove it.")
    invoice, code, description, quantity, at, price, customer, country = fields
    for name, value in (("InvoiceNo", invoice), ("StockCode", code),
                        ("InvoiceDate", at), ("UnitPrice", price)):
        if not value.strip():
            raise SourceError(f"{where}: {name} is missing; every row needs one.")
    if code != code.strip():
        raise SourceError(f"{where}: StockCode '{code}' is invalid; give at most "
                          f"{limits['StockCode'].length} characters without spaces around "
                          "them.")
    # The length check comes first: int() raises ValueError on more than 4,300 digits.
    if not WHOLE_NUMBER.fullmatch(quantity) or len(quantity) > QUANTITY_DIGITS \
            or abs(int(quantity)) > MAX_QUANTITY:
        raise SourceError(f"{where}: Quantity '{quantity}' is not a whole number from "
                          f"-{MAX_QUANTITY:,} to {MAX_QUANTITY:,}.")
    try:
        moment = _parse_time(at)
    except ValueError:
        raise SourceError(f"{where}: InvoiceDate '{at}' is not a date and time like "
                          "2010-12-01 08:26:00.") from None
    unit_price = parse_price(price)
    if unit_price is None:
        raise SourceError(f"{where}: UnitPrice '{price}' is not a price like 2.55 of at most "
                          f"{MAX_AMOUNT}.")
    if unit_price < 0 and invoice[:1].upper() != "A":
        raise SourceError(f"{where}: UnitPrice '{price}' is negative, which only a bad-debt "
                          "adjustment (an InvoiceNo starting with A) may be; correct it. A "
                          "cancellation has a positive price and a negative Quantity.")
    if invoice[:1].upper() == "C" and int(quantity) > 0:
        raise SourceError(f"{where}: Quantity '{quantity}' is positive on cancellation "
                          f"{invoice}; a cancellation takes units back with a negative "
                          "Quantity, so correct the sign or the InvoiceNo.")
    customer = _customer_id(customer)
    if customer and not (customer.isascii() and customer.isdigit()):
        raise SourceError(f"{where}: CustomerID '{customer}' is not a number; give digits "
                          "alone, or leave it empty for a walk-in sale.")
    description = description.strip()
    for name, value in (("InvoiceNo", invoice), ("StockCode", code),
                        ("Description", description), ("CustomerID", customer),
                        ("Country", country)):
        limit = limits[name]
        if len(value) > limit.length:
            raise SourceError(
                f"{where}: {name} '{_shortened(value)}' has {len(value):,} characters, more "
                f"than the {limit.length} that fit in {limit.stored_as}; shorten it.")
    return RetailRow(
        number=number, invoice=invoice, stock_code=code, description=description,
        quantity=int(quantity), at=moment, unit_price=unit_price, customer=customer,
        country=country)


def _shortened(value: str, length: int = 30) -> str:
    """Return the start of a long value for a message."""
    return value if len(value) <= length else value[:length] + "…"


# The lone surrogates U+DC80 to U+DCFF, which errors="surrogateescape" decodes the
# invalid bytes 0x80 to 0xFF to.
ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def _invalid_byte(text: str) -> int | None:
    """Return the first invalid UTF-8 byte that `text` was decoded from, or None."""
    if text.isascii():
        return None
    escaped = ESCAPED_BYTE.search(text)
    return ord(escaped.group()) - 0xDC00 if escaped else None


def _invalid_byte_message(byte: int) -> str:
    return (f"contains the byte 0x{byte:02X}, which is invalid in UTF-8 text; save the file "
            "as UTF-8 and compress it again with gzip.")


def _customer_id(text: str) -> str:
    """Return the customer id without the ".0" that a spreadsheet export adds."""
    if text.endswith(".0") and text[:-2].isdigit():
        return text[:-2]
    return text


def select_rows(rows: Iterable[RetailRow], *, start: datetime.date | None = None,
                end: datetime.date | None = None) -> Iterator[RetailRow]:
    """Keep the rows whose invoice date lies from `start` to `end`, both included."""
    for row in rows:
        day = row.at.date()
        if start is not None and day < start:
            continue
        if end is not None and day > end:
            # InvoiceDate never decreases, so nothing later can match.
            return
        yield row


def group_invoices(rows: Iterable[RetailRow], limit: int | None = None) -> Iterator[Invoice]:
    """Group consecutive rows of one invoice number; stop after `limit` invoices."""
    block: list[RetailRow] = []
    count = 0
    for row in rows:
        if block and row.invoice != block[0].invoice:
            yield _invoice(block)
            count += 1
            block = []
            if limit is not None and count >= limit:
                return
        block.append(row)
    if block and (limit is None or count < limit):
        yield _invoice(block)


def _invoice(rows: list[RetailRow]) -> Invoice:
    first = rows[0]
    return Invoice(number=first.invoice, at=first.at, customer=first.customer, rows=tuple(rows))


# The maximum break between two replayed invoices. The simulated store's buyer
# runs twice a week through a break, 26 runs in 92 days. The UCI log's longest break is
# 11 days, over Christmas, and a year typed wrong makes one of 365 days or more.
MAX_BREAK = datetime.timedelta(days=92)


def check_breaks(invoices: Iterable[Invoice], path: Path | str) -> Iterator[Invoice]:
    """Yield the invoices; raise SourceError at one that comes more than MAX_BREAK after
    the invoice before it."""
    previous: RetailRow | None = None
    for invoice in invoices:
        first = invoice.rows[0]
        if previous is not None and first.at - previous.at > MAX_BREAK:
            days = (first.at - previous.at).days
            raise SourceError(
                f"{path}, line {first.number}: InvoiceDate {first.at:%Y-%m-%d %H:%M} comes "
                f"{days:,} days after {previous.at:%Y-%m-%d %H:%M} on line {previous.number}, "
                f"more than the {MAX_BREAK.days} days the replay allows between two invoices, "
                "because the simulated store would keep buying stock twice a week through "
                "them. Correct the date, or replay the invoices on each side separately, "
                f"with --to {previous.at:%Y-%m-%d} and then --from {first.at:%Y-%m-%d}.")
        previous = invoice.rows[-1]
        yield invoice


def read_invoices(path: Path | str, *, start: datetime.date | None = None,
                  end: datetime.date | None = None,
                  limit: int | None = None) -> Iterator[Invoice]:
    """Yield the invoices of the file that fall in the date range, at most `limit` of them."""
    return check_breaks(group_invoices(select_rows(read_rows(path), start=start, end=end),
                                       limit), path)
