"""Random sequences of counter, buying and receiving actions never break an invariant.

Hypothesis drives the real services on the real database. After every step
the invariant checker must find nothing, and a refused action must leave
every row as it was.
"""

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from backroom.accounts.services import roles_ensure, user_create
from backroom.catalog.models import Item, Vendor
from backroom.catalog.services import item_adjust_stock
from backroom.core.errors import BackroomError
from backroom.core.invariants import invariant_violations
from backroom.core.models import StoreSettings
from backroom.customers.models import Customer
from backroom.purchasing.models import POStatus, PurchaseOrder
from backroom.purchasing.services import (
    ReceiveLineInput,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_submit,
)
from backroom.sales.models import Order, OrderLine, OrderStatus
from backroom.sales.payments import PaymentInput, order_add_payment, order_refund
from backroom.sales.services import (
    DeliverLine,
    LineInput,
    line_back_order,
    line_cancel,
    line_change_quantity,
    line_return,
    order_create,
    order_deliver,
    order_finalize,
    order_void,
)

SKUS = ["X1", "X2", "X3"]
ORDER_TYPES = ["sales_order", "special_order", "layaway", "sale"]


def snapshot():
    """Every count and amount the services change, to prove a refusal changed nothing."""
    return (
        list(Item.objects.order_by("pk").values_list("on_hand", "reserved")),
        list(OrderLine.objects.order_by("pk").values_list(
            "delivered", "ready", "back_ordered", "cancelled")),
        list(Order.objects.order_by("pk").values_list("status", "paid", "total")),
    )


class StoreMachine(RuleBasedStateMachine):
    @initialize()
    def open_store(self):
        # Each example runs in a savepoint rolled back at teardown, so examples
        # start from the same empty store.
        self.savepoint = transaction.atomic()
        self.savepoint.__enter__()
        roles_ensure()
        self.user = user_create(username="stateful-owner", role="owner",
                                password="stateful-Pass-2026")
        vendor = Vendor.objects.get_or_create(code="SV", defaults={"name": "State vendor"})[0]
        for sku in SKUS:
            Item.objects.get_or_create(sku=sku, defaults={
                "description": f"item {sku}", "price": Decimal("3.35"), "cost": Decimal("1"),
                "vendor": vendor, "taxable": True})
        self.customers = [Customer.objects.create(name=f"Customer {n}") for n in range(3)]
        StoreSettings.objects.update_or_create(pk=1, defaults={
            "tax_rate": Decimal("8.25"), "over_receipt_tolerance_percent": Decimal("50"),
            "minimum_deposit_percent": Decimal("0")})

    def attempt(self, action):
        before = snapshot()
        try:
            action()
        except BackroomError:
            assert snapshot() == before

    def pick_order(self, index, statuses=None):
        orders = Order.objects.filter(customer__in=self.customers)
        if statuses:
            orders = orders.filter(status__in=statuses)
        orders = list(orders.order_by("pk"))
        return orders[index % len(orders)] if orders else None

    def pick_line(self, index):
        lines = list(OrderLine.objects.filter(order__customer__in=self.customers)
                     .select_related("order").order_by("pk"))
        return lines[index % len(lines)] if lines else None

    @rule(order_type=st.sampled_from(ORDER_TYPES), customer=st.integers(0, 2),
          lines=st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 4), st.booleans()),
                         min_size=1, max_size=3),
          pay=st.sampled_from(["0", "all", "5.00"]))
    def sell(self, order_type, customer, lines, pay):
        specs = [LineInput(sku=sku, quantity=quantity, take_now=take_now)
                 for sku, quantity, take_now in lines]

        @transaction.atomic
        def create():
            order = order_create(user=self.user, order_type=order_type,
                                 customer_id=self.customers[customer].pk, lines=specs,
                                 payments=[], hold=True)
            if order_type == "sale" or pay == "all":
                order.refresh_from_db()
                payments = [PaymentInput(amount=order.total, tender="card")]
            elif pay == "0":
                payments = []
            else:
                payments = [PaymentInput(amount=Decimal(pay), tender="cash")]
            order_finalize(user=self.user, number=order.number, payments=payments)

        self.attempt(create)

    @rule(index=st.integers(0, 50))
    def deliver_everything_ready(self, index):
        order = self.pick_order(index, [OrderStatus.READY, OrderStatus.WAITING])
        if order is not None:
            self.attempt(lambda: order_deliver(
                user=self.user, number=order.number,
                payments=[PaymentInput(amount=max(order.total - order.paid, Decimal("0.01")),
                                       tender="card", to_store_credit=True)]))

    @rule(index=st.integers(0, 50), quantity=st.integers(1, 3))
    def deliver_part_of_a_line(self, index, quantity):
        line = self.pick_line(index)
        if line is not None:
            self.attempt(lambda: order_deliver(
                user=self.user, number=line.order.number,
                lines=[DeliverLine(line_id=line.pk, quantity=quantity)]))

    @rule(index=st.integers(0, 50), quantity=st.integers(1, 3))
    def cancel_units(self, index, quantity):
        line = self.pick_line(index)
        if line is not None:
            self.attempt(lambda: line_cancel(user=self.user, number=line.order.number,
                                             line_id=line.pk, quantity=quantity,
                                             refund="original_tender"))

    @rule(index=st.integers(0, 50), quantity=st.integers(1, 3))
    def back_order_item(self, index, quantity):
        line = self.pick_line(index)
        if line is not None:
            self.attempt(lambda: line_back_order(user=self.user, number=line.order.number,
                                                 line_id=line.pk, quantity=quantity))

    @rule(index=st.integers(0, 50), quantity=st.integers(1, 8))
    def change_quantity(self, index, quantity):
        line = self.pick_line(index)
        if line is not None:
            self.attempt(lambda: line_change_quantity(user=self.user, number=line.order.number,
                                                      line_id=line.pk, quantity=quantity))

    @rule(index=st.integers(0, 50), quantity=st.integers(1, 2))
    def return_units(self, index, quantity):
        line = self.pick_line(index)
        if line is not None:
            self.attempt(lambda: line_return(user=self.user, number=line.order.number,
                                             line_id=line.pk, quantity=quantity,
                                             refund="store_credit", reason="changed mind"))

    @rule(index=st.integers(0, 50))
    def void(self, index):
        order = self.pick_order(index)
        if order is not None:
            self.attempt(lambda: order_void(user=self.user, number=order.number,
                                            refund="original_tender", reason="test"))

    @rule(index=st.integers(0, 50), amount=st.sampled_from(["0.05", "1.00", "7.00"]))
    def pay_or_refund(self, index, amount):
        order = self.pick_order(index)
        if order is not None:
            self.attempt(lambda: order_add_payment(
                user=self.user, number=order.number,
                payment=PaymentInput(amount=Decimal(amount), tender="cash")))
            self.attempt(lambda: order_refund(user=self.user, number=order.number,
                                              amount=Decimal(amount), reason="test"))

    @rule(sku=st.sampled_from(SKUS), quantity=st.integers(-3, 6).filter(bool))
    def adjust(self, sku, quantity):
        self.attempt(lambda: item_adjust_stock(user=self.user, sku=sku, quantity=quantity,
                                               reason="count"))

    @rule(submit=st.booleans())
    def buy(self, submit):
        @transaction.atomic
        def create():
            po = purchase_order_create(user=self.user, vendor="SV",
                                       include_purchase_requests=True)
            if submit:
                purchase_order_submit(user=self.user, number=po.number)

        self.attempt(create)

    @rule(index=st.integers(0, 50), quantity=st.integers(0, 5), close_short=st.booleans())
    def receive(self, index, quantity, close_short):
        orders = list(PurchaseOrder.objects.filter(
            status__in=[POStatus.SUBMITTED, POStatus.PARTIALLY_RECEIVED]).order_by("pk"))
        if not orders:
            return
        po = orders[index % len(orders)]
        lines = [ReceiveLineInput(line_id=line.pk, quantity=quantity, close_short=close_short)
                 for line in po.lines.filter(cancelled=False, closed_short=False)]
        if lines:
            self.attempt(lambda: purchase_order_receive(user=self.user, number=po.number,
                                                        lines=lines))

    @rule(index=st.integers(0, 50))
    def cancel_po(self, index):
        orders = list(PurchaseOrder.objects.exclude(
            status__in=[POStatus.RECEIVED, POStatus.CANCELLED]).order_by("pk"))
        if orders:
            po = orders[index % len(orders)]
            self.attempt(lambda: purchase_order_cancel(user=self.user, number=po.number))

    def teardown(self):
        if hasattr(self, "savepoint"):
            transaction.set_rollback(True)
            self.savepoint.__exit__(None, None, None)

    @invariant()
    def rows_agree(self):
        if hasattr(self, "user"):
            assert invariant_violations() == []


@pytest.mark.django_db
def test_random_store_days_keep_invariants():
    StoreMachine.TestCase.settings = settings(
        max_examples=10, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    StoreMachine.TestCase().runTest()
