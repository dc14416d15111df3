"""The back-order flow through the REST API, over one keep-alive HTTP connection."""

import http.client
import json


class FlowFailed(RuntimeError):
    """A request of the flow got an unexpected status."""


class HttpFlow:
    def __init__(self, host: str, port: int, token: str, suffix: str = "") -> None:
        """Run the flow on items A<suffix> and B<suffix>, vendor V<suffix> and customer
        "Customer C<suffix>", so that clients with different suffixes share no rows."""
        self.suffix = suffix
        self.connection = http.client.HTTPConnection(host, port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None,
             expected: tuple[int, ...] = (200, 201)) -> dict:
        payload = json.dumps(body) if body is not None else None
        self.connection.request(method, f"/api/v1{path}", body=payload, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status not in expected:
            raise FlowFailed(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data) if data else {}

    def run(self) -> None:
        """Run the flow once: order, hand over the card, order, receive and hand over the scarf."""
        order = self.call("POST", "/orders", {
            "type": "sales_order", "customer": self.customer_id(),
            "lines": [{"sku": f"A{self.suffix}", "quantity": 1},
                      {"sku": f"B{self.suffix}", "quantity": 1}],
            "payments": [{"amount": "34.00", "tender": "cash"}]})
        number = order["number"]
        card = next(line for line in order["lines"] if line["sku"] == f"A{self.suffix}")
        self.call("POST", f"/orders/{number}/deliveries",
                  {"lines": [{"id": card["id"], "quantity": 1}]})
        po = self.call("POST", "/purchase-orders",
                       {"vendor": f"V{self.suffix}", "include_purchase_requests": True})
        self.call("POST", f"/purchase-orders/{po['number']}/submit")
        scarf_line = po["lines"][0]["id"]
        self.call("POST", f"/purchase-orders/{po['number']}/receipts",
                  {"lines": [{"id": scarf_line, "quantity": 1}]})
        self.call("POST", f"/orders/{number}/deliveries", {})

    def customer_id(self) -> int:
        if not hasattr(self, "_customer"):
            customers = self.call("GET", "/customers?limit=500")["items"]
            self._customer = next(customer["id"] for customer in customers
                                  if customer["name"] == f"Customer C{self.suffix}")
        return self._customer
