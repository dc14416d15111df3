"""The back-order flow through the REST API, and the product's server to run it against."""

import http.client
import json
import os
import socket
import subprocess
import time
from pathlib import Path

BACKROOM = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "backroom"


class FlowFailed(RuntimeError):
    """A request of the flow got an unexpected status."""


class HttpFlow:
    """The flow over one HTTP connection, which http.client opens again whenever gunicorn's
    synchronous worker closes it after a response."""

    def __init__(self, host: str, port: int, token: str, suffix: str = "",
                 customer: int | None = None) -> None:
        """Run the flow on items A<suffix> and B<suffix>, vendor V<suffix> and customer
        "Customer C<suffix>", so that clients with different suffixes share no rows.

        Without `customer` (that customer's id), the first flow looks it up through the API.
        """
        self.suffix = suffix
        self.connection = http.client.HTTPConnection(host, port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if customer is not None:
            self._customer = customer

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


def serve(workers: int, log: Path) -> tuple[subprocess.Popen, int]:
    """Start `backroom serve` on a free loopback port and wait until it listens.

    It serves the database of the current environment (DATABASE_URL,
    BACKROOM_HOME), as the product runs it: gunicorn with synchronous workers.
    Without an SMTP host the server writes ready notices with Django's console
    e-mail backend to its standard output, which is discarded. Its log goes to
    `log`. Stop it with terminate() and wait().

    The server runs in a session of its own, as under a service manager. With
    Linux's autogroup scheduling on, a session shares the CPU as one unit, so
    a server in the benchmark's session would share its part with the clients.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = dict(os.environ)
    env.pop("BACKROOM_SMTP_HOST", None)
    with log.open("ab") as log_file:
        server = subprocess.Popen(
            [str(BACKROOM), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=log_file, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"backroom serve exited with status {server.returncode}; "
                               f"see {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server, port
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"backroom serve did not listen on port {port} within 60 s; see {log}")
