"""Payments, refunds and store credit.

`plan_payment` is the pure rule for one tender against a balance; the
services below apply it to a locked order.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from backroom.accounts.permissions import require
from backroom.core.audit import AuditLog
from backroom.core.errors import (
    InvalidState,
    NotFound,
    PaymentExceedsBalance,
    RefundExceedsPaid,
    ValidationFailed,
)
from backroom.core.inserts import insert_all, new_instance
from backroom.core.models import StoreSettings
from backroom.core.money import MAX_AMOUNT, ZERO, round_cash
from backroom.core.sql import model_rows
from backroom.customers.models import Customer, StoreCreditEntry
from backroom.sales.locks import lock_order_by_number
from backroom.sales.models import Order, OrderStatus, Payment, PaymentKind, Tender
from backroom.sales.totals import order_sync


@dataclass(frozen=True)
class PaymentInput:
    amount: Decimal
    tender: str
    reference: str = ""
    to_store_credit: bool = False


@dataclass(frozen=True)
class PaymentPlan:
    applied: Decimal
    received: Decimal
    change: Decimal = ZERO
    credit: Decimal = ZERO


def plan_payment(*, balance: Decimal, tender: str, amount: Decimal, cash_step: Decimal,
                 to_store_credit: bool = False) -> PaymentPlan:
    """Decide how much of a tendered amount goes to the order, the till, change and credit.

    Cash that reaches the balance rounded to the cash step closes the
    balance, and anything above is change (or store credit when asked).
    Other tenders must not exceed the balance unless the excess goes to
    store credit.
    """
    if amount <= 0:
        raise ValidationFailed(
            f"Payment amount {amount} must be greater than 0.", field="amount")
    if tender not in Tender.values:
        raise ValidationFailed(
            f"Unknown tender '{tender}'; use one of {', '.join(Tender.values)}.", field="tender")
    if to_store_credit and tender == Tender.STORE_CREDIT:
        raise ValidationFailed(
            "Store credit cannot be paid back into store credit; choose another tender.",
            field="to_store_credit")
    open_balance = max(balance, ZERO)
    if tender == Tender.CASH and cash_step > 0 and amount % cash_step:
        raise ValidationFailed(
            f"Cash {amount} is not a multiple of the store's cash rounding {cash_step}; "
            f"take {round_cash(amount, cash_step)} or another amount in steps of {cash_step}.",
            field="amount")

    if tender == Tender.CASH and open_balance > 0:
        cash_due = round_cash(open_balance, cash_step)
        if amount >= cash_due:
            extra = amount - cash_due
            if to_store_credit:
                return PaymentPlan(applied=open_balance, received=amount, credit=extra)
            return PaymentPlan(applied=open_balance, received=cash_due, change=extra)
        if amount > open_balance:
            raise ValidationFailed(
                f"Cash {amount} is above the balance {open_balance} but below the cash amount "
                f"due {cash_due}; take {cash_due} to close the balance, or less than "
                f"{open_balance}.", field="amount")
        return PaymentPlan(applied=amount, received=amount)

    if amount > open_balance:
        if not to_store_credit:
            raise PaymentExceedsBalance(
                f"Payment of {amount} is more than the balance of {open_balance}; take at most "
                f"{open_balance}, or put the excess on the customer's store credit.",
                field="amount", amount=str(amount), balance=str(open_balance))
        return PaymentPlan(applied=open_balance, received=amount, credit=amount - open_balance)
    return PaymentPlan(applied=amount, received=amount)


def payments_take(*, order: Order, inputs: list[PaymentInput], balance: Decimal,
                  user, audit: AuditLog, store: StoreSettings | None = None) -> Decimal:
    """Record payments against a locked order; return the amount applied to it."""
    if not inputs:
        return ZERO
    store = store or StoreSettings.load()
    customer = None
    applied_total = ZERO
    for payment_input in inputs:
        plan = plan_payment(balance=balance - applied_total, tender=payment_input.tender,
                            amount=payment_input.amount, cash_step=store.cash_rounding,
                            to_store_credit=payment_input.to_store_credit)
        if payment_input.tender == Tender.STORE_CREDIT or plan.credit:
            customer = customer or _lock_customer(order.customer_id)
        if customer is not None and payment_input.tender == Tender.STORE_CREDIT:
            _credit_move(customer, -plan.received, f"Paid order {order.number}", order, user)
        payment = new_instance(
            Payment, order=order, kind=PaymentKind.PAYMENT, tender=payment_input.tender,
            amount=plan.applied, received=plan.received, change_given=plan.change,
            credit_amount=plan.credit, reference=payment_input.reference, user=audit.user)
        insert_all(Payment, [payment])
        if customer is not None and plan.credit:
            _credit_move(customer, plan.credit,
                         f"Excess of payment on order {order.number}", order, user)
        applied_total += plan.applied
        audit.add("payment_taken", order=order, payment=payment.pk, tender=payment.tender,
                  amount=plan.applied, received=plan.received, change=plan.change,
                  store_credit=plan.credit, balance_after=balance - applied_total)
    return applied_total


@transaction.atomic
def order_add_payment(*, user, number: str, payment: PaymentInput) -> Order:
    order = lock_order_by_number(number)
    if order.finalized_at is None:
        raise InvalidState(
            f"Order {order.number} is on hold; finalize it with its payments first.")
    if order.status == OrderStatus.CANCELLED or order.voided_at is not None:
        raise InvalidState(f"Order {order.number} is voided; it takes no payment.")
    audit = AuditLog(user)
    payments_take(order=order, inputs=[payment], balance=order.total - order.paid,
                  user=user, audit=audit)
    order_sync([order])
    audit.flush()
    return order


def refundable_by_payment(order: Order) -> list[tuple[Payment, Decimal]]:
    """Return each live payment of the order, newest first, with what can still be
    refunded of it."""
    # The live payments and refunds are read together, since an order has few of them.
    payments = []
    refunded: dict[int, Decimal] = {}
    for row in model_rows(Payment, '"order_id" = %s AND "voided_at" IS NULL', [order.pk],
                          order_by='"id" DESC'):
        if row.kind == PaymentKind.PAYMENT:
            payments.append(row)
        elif row.refund_of_id is not None:
            refunded[row.refund_of_id] = refunded.get(row.refund_of_id, ZERO) + row.amount
    return [(payment, payment.amount - refunded.get(payment.pk, ZERO)) for payment in payments]


def refund_issue(*, order: Order, amount: Decimal, tender: str | None, to_store_credit: bool,
                 reason: str, user, audit: AuditLog) -> list[Payment]:
    """Refund `amount` of a locked order to the original tenders, newest payment first,
    or to store credit; never more than what was paid."""
    if amount <= 0:
        raise ValidationFailed(f"Refund amount {amount} must be greater than 0.", field="amount")
    if tender is not None and tender not in Tender.values:
        raise ValidationFailed(
            f"Unknown tender '{tender}'; use one of {', '.join(Tender.values)}.", field="tender")
    paid = order.paid
    if amount > paid:
        raise RefundExceedsPaid(
            f"Refund of {amount} is more than the {paid} paid on order {order.number}; "
            f"refund at most {paid}.", field="amount", amount=str(amount), paid=str(paid))

    customer = None
    if to_store_credit or tender == Tender.STORE_CREDIT:
        customer = _lock_customer(order.customer_id)
        if customer.is_walk_in:
            raise ValidationFailed(
                "The walk-in customer cannot hold store credit; refund to a tender, or put the "
                "order on a named customer.", field="to_store_credit")

    refunds = []
    left = amount
    for payment, refundable in refundable_by_payment(order):
        if left <= 0:
            break
        part = min(left, refundable)
        if part <= 0:
            continue
        left -= part
        refund_tender = Tender.STORE_CREDIT if to_store_credit else (tender or payment.tender)
        refunds.append(new_instance(
            Payment, order=order, kind=PaymentKind.REFUND, tender=refund_tender, amount=part,
            received=part, refund_of=payment, reason=reason, user=audit.user))
    if left > 0:
        raise RefundExceedsPaid(
            f"Only {amount - left} of order {order.number}'s payments can be refunded; "
            f"refund at most that.", field="amount")
    insert_all(Payment, refunds)
    for refund in refunds:
        if refund.tender == Tender.STORE_CREDIT:
            customer = customer or _lock_customer(order.customer_id)
            _credit_move(customer, refund.amount, f"Refund on order {order.number}", order, user)
        audit.add("refund_issued", order=order, tender=refund.tender, amount=refund.amount,
                  refund_of=refund.refund_of_id, reason=reason)
    return refunds


@transaction.atomic
def order_refund(*, user, number: str, amount: Decimal, tender: str | None = None,
                 to_store_credit: bool = False, reason: str = "") -> Order:
    require(user, "refund", "refund a payment")
    if not reason.strip():
        raise ValidationFailed("Give a reason for the refund.", field="reason")
    order = lock_order_by_number(number)
    audit = AuditLog(user)
    refund_issue(order=order, amount=amount, tender=tender, to_store_credit=to_store_credit,
                 reason=reason, user=user, audit=audit)
    order_sync([order])
    audit.flush()
    return order


@transaction.atomic
def payment_void(*, user, number: str, payment_id: int, reason: str = "") -> Order:
    """Void a payment or a refund taken by mistake; the order's paid amount follows."""
    require(user, "void", "void a payment")
    order = lock_order_by_number(number)
    payment = Payment.objects.select_for_update().filter(pk=payment_id, order=order).first()
    if payment is None:
        raise NotFound(f"Payment {payment_id} not found on order {order.number}.",
                       field="payment")
    if payment.voided_at is not None:
        raise InvalidState(f"Payment {payment_id} is already voided.")
    if payment.kind == PaymentKind.PAYMENT:
        if payment.refunds.filter(voided_at__isnull=True).exists():
            raise InvalidState(
                f"Payment {payment_id} has refunds; void those first.")
        if payment.credit_amount or payment.tender == Tender.STORE_CREDIT:
            customer = _lock_customer(order.customer_id)
            back = payment.received if payment.tender == Tender.STORE_CREDIT else ZERO
            _credit_move(customer, back - payment.credit_amount,
                         f"Voided payment on order {order.number}", order, user)
    else:
        if order.paid + payment.amount > order.total:
            raise PaymentExceedsBalance(
                f"Voiding refund {payment_id} would make the paid amount "
                f"{order.paid + payment.amount} exceed the total {order.total}.")
        if payment.tender == Tender.STORE_CREDIT:
            customer = _lock_customer(order.customer_id)
            _credit_move(customer, -payment.amount,
                         f"Voided refund on order {order.number}", order, user)
    payment.voided_at = timezone.now()
    payment.voided_by = user if user is not None and user.is_authenticated else None
    payment.save(update_fields=["voided_at", "voided_by"])
    audit = AuditLog(user)
    audit.add("refund_voided" if payment.kind == PaymentKind.REFUND else "payment_voided",
              order=order, payment=payment.pk, amount=payment.amount, reason=reason)
    order_sync([order])
    audit.flush()
    return order


def _lock_customer(customer_id: int) -> Customer:
    return Customer.objects.select_for_update().get(pk=customer_id)


def _credit_move(customer: Customer, amount: Decimal, reason: str, order: Order, user) -> None:
    if customer.is_walk_in:
        raise ValidationFailed(
            "The walk-in customer has no store credit; choose a named customer.",
            field="tender")
    if customer.store_credit + amount < 0:
        raise PaymentExceedsBalance(
            f"{customer.name} has {customer.store_credit} store credit, less than "
            f"{-amount}; take the rest with another tender.", field="amount")
    if customer.store_credit + amount > MAX_AMOUNT:
        raise ValidationFailed(
            f"{customer.name}'s store credit would be {customer.store_credit + amount}, more "
            f"than the largest amount, {MAX_AMOUNT}; pay out the excess with another tender.",
            field="amount")
    customer.store_credit += amount
    customer.save(update_fields=["store_credit"])
    StoreCreditEntry.objects.create(
        customer=customer, amount=amount, balance_after=customer.store_credit, reason=reason,
        order=order, user=user if user is not None and user.is_authenticated else None)
