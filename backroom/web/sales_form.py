"""The sales & order screen's form: lines, customer and tenders parsed from the POST.

The screen keeps no state on the server: every request carries the whole
form, and the page is rendered again from it until "Save" or "Hold" calls
the order service.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from backroom.catalog.models import Item
from backroom.core.errors import PaymentExceedsBalance, ValidationFailed
from backroom.core.models import StoreSettings
from backroom.core.money import ZERO, percent_of
from backroom.sales.models import OrderType, Tender
from backroom.sales.payments import PaymentInput, plan_payment
from backroom.sales.services import LineInput
from backroom.sales.totals import line_amounts
from backroom.web.forms import FormState, parse_amount, parse_quantity

PLAN_TAKE_NOW = "take_now"
PLAN_RESERVE = "reserve"
PLAN_ORDER = "order"
PLAN_LABELS = {PLAN_TAKE_NOW: "Take now", PLAN_RESERVE: "Reserve", PLAN_ORDER: "Order"}
INDEXED = re.compile(r"^(lines|payments)-([0-9]{1,6})-(\w+)$")


@dataclass
class SalesLine:
    index: int
    sku: str
    quantity: int | None
    unit_price: Decimal | None
    discount: Decimal | None
    plan: str
    item: Item | None = None
    description: str = ""
    vendor: str = ""
    line_total: Decimal = ZERO
    tax: Decimal = ZERO
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    outcome_text: str = ""

    @property
    def custom(self) -> bool:
        return not self.sku

    @property
    def available(self) -> int | None:
        if self.item is None or not self.item.tracked:
            return None
        return self.item.available

    def outcome(self, order_type: str) -> str:
        """Describe what finalizing will do with this line, from the stock shown."""
        quantity = self.quantity or 0
        if self.plan == PLAN_ORDER or self.available is None and self.custom:
            return f"order {quantity}"
        free = quantity if self.available is None else max(min(quantity, self.available), 0)
        rest = quantity - free
        if order_type == OrderType.SALE:
            return f"take {free} now" + (f" · {rest} not in stock" if rest else "")
        verb = "take" if self.plan == PLAN_TAKE_NOW else "reserve"
        parts = []
        if free:
            parts.append(f"{verb} {free} now" if verb == "take" else f"{verb} {free}")
        if rest:
            parts.append(f"order {rest}")
        return " · ".join(parts)


@dataclass
class Tendered:
    index: int
    tender: str
    amount: Decimal | None
    reference: str
    change: Decimal = ZERO
    raw_amount: str = ""
    error: str = ""


@dataclass
class SalesForm:
    state: FormState
    order_type: str
    lines: list[SalesLine] = field(default_factory=list)
    tenders: list[Tendered] = field(default_factory=list)
    subtotal: Decimal = ZERO
    tax: Decimal = ZERO
    total: Decimal = ZERO
    proposed_deposit: Decimal = ZERO
    minimum_deposit: Decimal = ZERO
    tendered_total: Decimal = ZERO
    change_due: Decimal = ZERO

    @property
    def next_line_index(self) -> int:
        return max((line.index for line in self.lines), default=-1) + 1

    @property
    def plan_choices(self) -> list[tuple[str, str]]:
        if self.order_type == OrderType.SALE:
            return [(PLAN_TAKE_NOW, PLAN_LABELS[PLAN_TAKE_NOW])]
        if self.order_type in (OrderType.SPECIAL_ORDER, OrderType.CUSTOM_ORDER):
            return [(PLAN_ORDER, PLAN_LABELS[PLAN_ORDER])]
        choices = [PLAN_RESERVE, PLAN_ORDER]
        if self.order_type == OrderType.SALES_ORDER:
            choices.insert(0, PLAN_TAKE_NOW)
        return [(choice, PLAN_LABELS[choice]) for choice in choices]

    def default_plan(self) -> str:
        return self.plan_choices[0][0] if self.order_type != OrderType.SALES_ORDER \
            else PLAN_RESERVE

    def line_inputs(self) -> list[LineInput]:
        return [
            LineInput(quantity=line.quantity or 0, sku=line.sku or None,
                      unit_price=line.unit_price, discount_percent=line.discount,
                      take_now=line.plan == PLAN_TAKE_NOW,
                      description=line.description if line.custom else None,
                      vendor=(line.vendor or None) if line.custom else None)
            for line in self.lines
        ]

    def payment_inputs(self) -> list[PaymentInput]:
        return [PaymentInput(amount=tender.amount, tender=tender.tender,
                             reference=tender.reference)
                for tender in self.tenders if tender.amount]


def sales_form_parse(state: FormState) -> SalesForm:
    """Read the lines and tenders of a submitted sales form, with the items they name."""
    order_type = state.values.get("type") or OrderType.SALES_ORDER
    if order_type not in OrderType.values:
        state.add("type", f"Unknown order type '{order_type}'.")
        order_type = OrderType.SALES_ORDER
    form = SalesForm(state=state, order_type=order_type)
    rows = _indexed_rows(state)
    form.lines = [_line_parse(state, form, index, row) for index, row in rows["lines"]]
    _attach_items(form.lines)
    form.tenders = [_tender_parse(state, index, row) for index, row in rows["payments"]]
    return form


def sales_form_compute(form: SalesForm, store: StoreSettings) -> None:
    """Compute line totals, the order total, the proposed deposit and the change due."""
    for line in form.lines:
        if line.quantity is None or line.unit_price is None or line.discount is None:
            continue
        taxable = line.item.taxable if line.item is not None else True
        line.line_total, line.tax = line_amounts(line.unit_price, line.quantity,
                                                 line.discount, taxable, store.tax_rate)
    for line in form.lines:
        line.outcome_text = line.outcome(form.order_type)
        line.errors = line_errors(form.state, line)
    for tender in form.tenders:
        tender.error = form.state.errors.get(f"payments-{tender.index}-amount", "")
    form.subtotal = sum((line.line_total for line in form.lines), ZERO)
    form.tax = sum((line.tax for line in form.lines), ZERO)
    form.total = form.subtotal + form.tax
    if form.order_type == OrderType.SALE:
        form.proposed_deposit = form.minimum_deposit = form.total
    else:
        form.proposed_deposit = percent_of(form.total, store.deposit_percent)
        form.minimum_deposit = percent_of(form.total, store.minimum_deposit_percent)
    _plan_tenders(form, store)


def _plan_tenders(form: SalesForm, store: StoreSettings) -> None:
    """Show the change due for cash, using the payment rule the service applies."""
    balance = form.total
    for tender in form.tenders:
        if not tender.amount or tender.tender not in Tender.values:
            continue
        form.tendered_total += tender.amount
        try:
            plan = plan_payment(balance=balance, tender=tender.tender, amount=tender.amount,
                                cash_step=store.cash_rounding)
        except (ValidationFailed, PaymentExceedsBalance):
            continue  # "Save" shows the service's own error for this tender.
        tender.change = plan.change
        form.change_due += plan.change
        balance -= plan.applied


def _indexed_rows(state: FormState) -> dict[str, list[tuple[int, dict[str, str]]]]:
    rows: dict[str, dict[int, dict[str, str]]] = {"lines": {}, "payments": {}}
    for key, value in state.values.items():
        match = INDEXED.match(key)
        if match:
            group, index, name = match.groups()
            rows[group].setdefault(int(index), {})[name] = value
    return {group: sorted(found.items()) for group, found in rows.items()}


def _line_parse(state: FormState, form: SalesForm, index: int,
                row: dict[str, str]) -> SalesLine:
    prefix = f"lines-{index}-"
    plan = row.get("plan", "")
    if plan not in dict(form.plan_choices):
        plan = form.default_plan()
    line = SalesLine(
        index=index, sku=row.get("sku", "").strip(),
        quantity=parse_quantity(state, prefix + "quantity"),
        unit_price=parse_amount(state, prefix + "price"),
        discount=parse_amount(state, prefix + "discount", required=False) or ZERO,
        plan=plan, description=row.get("description", "").strip(),
        vendor=row.get("vendor", "").strip(), raw=row)
    line.errors = line_errors(state, line)
    return line


def line_errors(state: FormState, line: SalesLine) -> dict[str, str]:
    prefix = f"lines-{line.index}-"
    return {key[len(prefix):]: message for key, message in state.errors.items()
            if key.startswith(prefix)}


def _attach_items(lines: list[SalesLine]) -> None:
    skus = {line.sku for line in lines if line.sku}
    items = {item.sku: item for item in Item.objects.filter(sku__in=skus)}
    for line in lines:
        line.item = items.get(line.sku)
        if line.item is not None:
            line.description = line.item.description


def _tender_parse(state: FormState, index: int, row: dict[str, str]) -> Tendered:
    prefix = f"payments-{index}-"
    return Tendered(index=index, tender=row.get("tender", Tender.CASH),
                    amount=parse_amount(state, prefix + "amount", required=False),
                    reference=row.get("reference", "").strip(),
                    raw_amount=row.get("amount", ""),
                    error=state.errors.get(prefix + "amount", ""))
