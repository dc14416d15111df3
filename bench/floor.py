"""The back-order flow as the fewest plain SQL statements: the floor the services are
measured against.

Each step is one transaction that makes the same row changes as the service
(quantities, statuses, money, purchase request, receipt, notice) and writes
its audit rows in one INSERT. It skips what the services do to decide and
check: reads under lock, permission and state checks, totals derived from
the lines.
"""

import datetime
import sqlite3
import uuid
from typing import Any

from django.conf import settings


class FloorFlow:
    def __init__(self, connection: Any, sqlite: bool, store: dict) -> None:
        self.connection = connection
        self.sqlite = sqlite
        self.user = store["user"].pk
        self.vendor = store["vendor"].pk
        self.customer = store["customer"].pk
        self.card = store["card"].pk
        self.scarf = store["scarf"].pk

    @classmethod
    def connect(cls, store: dict) -> "FloorFlow":
        config = settings.DATABASES["default"]
        if config["ENGINE"].endswith("sqlite3"):
            connection = sqlite3.connect(config["NAME"], isolation_level=None, timeout=20)
            # The same durability as the application's connections.
            connection.execute("PRAGMA synchronous=NORMAL")
            return cls(connection, True, store)
        import psycopg

        connection = psycopg.connect(host=config["HOST"] or "127.0.0.1", port=config["PORT"],
                                     user=config["USER"], password=config["PASSWORD"],
                                     dbname=config["NAME"], autocommit=True)
        return cls(connection, False, store)

    # ------------------------------------------------------------ plumbing

    def _now(self) -> Any:
        now = datetime.datetime.now(datetime.UTC)
        return now.replace(tzinfo=None).isoformat(" ") if self.sqlite else now

    def _sql(self, statement: str) -> str:
        return statement.replace("%s", "?") if self.sqlite else statement

    def _one(self, statement: str, params: tuple) -> Any:
        cursor = self.connection.execute(self._sql(statement), params)
        row = cursor.fetchone()
        return row[0] if row else None

    def _run(self, statement: str, params: tuple) -> None:
        self.connection.execute(self._sql(statement), params)

    def _begin(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")

    def _commit(self) -> None:
        self.connection.execute("COMMIT")

    def _events(self, now: Any, rows: list[tuple[str, int | None, int | None, int | None]]) -> None:
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows))
        params: list[Any] = []
        for action, order, item, purchase_order in rows:
            params += [now, self.user, action, order, item, purchase_order, "{}"]
        self._run("INSERT INTO core_event (at, user_id, action, order_id, item_id, "
                  f"purchase_order_id, detail) VALUES {values}", tuple(params))

    # ------------------------------------------------------------ the flow

    def run(self) -> None:
        order, card_line, scarf_line, request = self._sell()
        self._hand_over_card(order, card_line)
        po, po_line = self._order_from_vendor(request)
        self._submit(po)
        self._receive(po, po_line, order, scarf_line, request)
        self._hand_over_scarf(order, scarf_line)

    def _sell(self) -> tuple[int, int, int, int]:
        now = self._now()
        self._begin()
        order = self._one(
            "INSERT INTO sales_order (number, type, customer_id, status, subtotal, tax, total, "
            "paid, priority, note, created_at, finalized_at, created_by_id) VALUES "
            "(%s, 'sales_order', %s, 'waiting', '34.00', '0', '34.00', '34.00', 0, '', %s, %s, "
            "%s) RETURNING id", ("~" + uuid.uuid4().hex[:16], self.customer, now, now, self.user))
        columns = ("order_id, position, item_id, description, quantity, unit_price, "
                   "discount_percent, taxable, tax_rate, take_now, pending, delivered, ready, "
                   "back_ordered, cancelled, line_total, tax, created_at")
        card_line = self._one(
            f"INSERT INTO sales_orderline ({columns}) VALUES (%s, 1, %s, 'birthday card', 1, "
            "'4.00', '0', false, '0', false, 0, 0, 1, 0, 0, '4.00', '0', %s) RETURNING id",
            (order, self.card, now))
        scarf_line = self._one(
            f"INSERT INTO sales_orderline ({columns}) VALUES (%s, 2, %s, 'blue scarf', 1, "
            "'30.00', '0', false, '0', false, 0, 0, 0, 1, 0, '30.00', '0', %s) RETURNING id",
            (order, self.scarf, now))
        self._run("UPDATE catalog_item SET reserved = reserved + 1 WHERE id = %s", (self.card,))
        request = self._one(
            "INSERT INTO purchasing_purchaserequest (item_id, vendor_id, quantity, served, "
            "order_line_id, order_id, customer_id, status, needs_ordering, created_at, "
            "updated_at) VALUES (%s, %s, 1, 0, %s, %s, %s, 'open', false, %s, %s) RETURNING id",
            (self.scarf, self.vendor, scarf_line, order, self.customer, now, now))
        self._run(
            "INSERT INTO sales_payment (order_id, kind, tender, amount, received, change_given, "
            "credit_amount, reference, reason, created_at, user_id) VALUES "
            "(%s, 'payment', 'cash', '34.00', '34.00', '0', '0', '', '', %s, %s)",
            (order, now, self.user))
        self._events(now, [("order_created", order, None, None),
                           ("line_decided", order, self.card, None),
                           ("line_decided", order, self.scarf, None),
                           ("request_created", order, self.scarf, None),
                           ("payment_taken", order, None, None),
                           ("order_finalized", order, None, None)])
        self._commit()
        return order, card_line, scarf_line, request

    def _hand_over_card(self, order: int, card_line: int) -> None:
        now = self._now()
        self._begin()
        self._run("UPDATE sales_orderline SET ready = 0, delivered = 1 WHERE id = %s",
                  (card_line,))
        self._run("UPDATE catalog_item SET on_hand = on_hand - 1, reserved = reserved - 1 "
                  "WHERE id = %s", (self.card,))
        self._events(now, [("units_delivered", order, self.card, None)])
        self._commit()

    def _order_from_vendor(self, request: int) -> tuple[int, int]:
        now = self._now()
        self._begin()
        po = self._one(
            "INSERT INTO purchasing_purchaseorder (number, vendor_id, status, note, created_at, "
            "created_by_id) VALUES (%s, %s, 'draft', '', %s, %s) RETURNING id",
            ("~" + uuid.uuid4().hex[:16], self.vendor, now, self.user))
        po_line = self._one(
            "INSERT INTO purchasing_purchaseorderline (purchase_order_id, item_id, quantity, "
            "received, cost, closed_short, cancelled) VALUES (%s, %s, 1, 0, '15.00', false, "
            "false) RETURNING id", (po, self.scarf))
        self._run("UPDATE purchasing_purchaserequest SET status = 'on_order', po_line_id = %s, "
                  "updated_at = %s WHERE id = %s", (po_line, now, request))
        self._events(now, [("request_on_purchase_order", None, self.scarf, po),
                           ("purchase_order_created", None, None, po)])
        self._commit()
        return po, po_line

    def _submit(self, po: int) -> None:
        now = self._now()
        self._begin()
        self._run("UPDATE purchasing_purchaseorder SET status = 'submitted', submitted_at = %s "
                  "WHERE id = %s", (now, po))
        self._events(now, [("purchase_order_submitted", None, None, po)])
        self._commit()

    def _receive(self, po: int, po_line: int, order: int, scarf_line: int,
                 request: int) -> None:
        now = self._now()
        self._begin()
        receipt = self._one(
            "INSERT INTO purchasing_receipt (number, purchase_order_id, created_at, user_id) "
            "VALUES (%s, %s, %s, %s) RETURNING id",
            ("~" + uuid.uuid4().hex[:16], po, now, self.user))
        self._run("INSERT INTO purchasing_receiptline (receipt_id, po_line_id, item_id, "
                  "quantity, closed_short) VALUES (%s, %s, %s, 1, false)",
                  (receipt, po_line, self.scarf))
        self._run("UPDATE purchasing_purchaseorderline SET received = 1 WHERE id = %s",
                  (po_line,))
        self._run("UPDATE purchasing_purchaseorder SET status = 'received' WHERE id = %s", (po,))
        self._run("UPDATE catalog_item SET on_hand = on_hand + 1, reserved = reserved + 1 "
                  "WHERE id = %s", (self.scarf,))
        self._run("UPDATE sales_orderline SET back_ordered = 0, ready = 1 WHERE id = %s",
                  (scarf_line,))
        self._run("UPDATE purchasing_purchaserequest SET quantity = 0, served = 1, "
                  "status = 'fulfilled', updated_at = %s WHERE id = %s", (now, request))
        self._run("INSERT INTO purchasing_receivingnotice (receipt_id, source, order_id, "
                  "order_line_id, customer_id, item_id, quantity, order_status, created_at) "
                  "VALUES (%s, 'receipt', %s, %s, %s, %s, 1, 'ready', %s)",
                  (receipt, order, scarf_line, self.customer, self.scarf, now))
        self._run("UPDATE sales_order SET status = 'ready', ready_at = %s, notified_at = %s "
                  "WHERE id = %s", (now, now, order))
        self._events(now, [("goods_received", None, self.scarf, po),
                           ("units_reserved", order, self.scarf, None),
                           ("order_ready", order, None, None),
                           ("receipt_created", None, None, po)])
        self._commit()

    def _hand_over_scarf(self, order: int, scarf_line: int) -> None:
        now = self._now()
        self._begin()
        self._run("UPDATE sales_orderline SET ready = 0, delivered = 1 WHERE id = %s",
                  (scarf_line,))
        self._run("UPDATE catalog_item SET on_hand = on_hand - 1, reserved = reserved - 1 "
                  "WHERE id = %s", (self.scarf,))
        self._run("UPDATE sales_order SET status = 'delivered' WHERE id = %s", (order,))
        self._events(now, [("units_delivered", order, self.scarf, None)])
        self._commit()
