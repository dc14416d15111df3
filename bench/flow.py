"""Benchmark: the back-order flow of the product specification, repeated.

    .venv/bin/python bench/flow.py sqlite|postgres [--iterations N] [--no-http] [--profile]
        [--delay-ms MS]

Each iteration runs the flow of a sales order for customer C with one card
in stock and one scarf to order: order with 34.00 paid, hand over the card,
a purchase order for the vendor's requests, submit, receive the scarf, hand
it over. It runs three ways in the same process and database:

- services: the Python services, as the counter calls them (the benchmark's
  own reads of line ids between the steps are not timed);
- floor: the same row changes and audit rows as the fewest plain SQL
  statements, one transaction per step, through the raw driver (sqlite3 or
  psycopg) on the same schema;
- http: the REST API, through gunicorn with one worker on 127.0.0.1.

With --delay-ms on PostgreSQL, every connection goes through
bench/latency_proxy.py, which delays each chunk of data in either direction,
as a database server on another machine would. The result then gives the
round trip measured through the proxy.

Results (per-iteration mean and p95 in milliseconds, and the ratios to the
floor) go to bench/results/flow-<database>-<time>.json. With --profile, 20
more service flows run under cProfile after the timings, and the SQL statement
count of one flow and the top entries by cumulative and by own time go to
bench/results/flow-<database>-profile.txt.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    DEFAULT_POSTGRES,
    REPO,
    RESULTS,
    database,
    django_command,
    machine,
    write_result,
)

WARM_UP = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", choices=["sqlite", "postgres"])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="also write a cProfile of 20 flows through the services")
    parser.add_argument("--delay-ms", type=float,
                        help="PostgreSQL only: hold each chunk of data this long on its way "
                             "to and from the server")
    args = parser.parse_args()
    if args.delay_ms is not None and args.database != "postgres":
        parser.error("--delay-ms needs postgres")

    with _server(args.delay_ms) as (server, round_trip), database(args.database, server) as env:
        django_command(env, "migrate", "-v", "0")
        out = Path(env["BACKROOM_HOME"]) / "flow.json"
        # The child imports the package of this checkout, not an installed one.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        subprocess.run([sys.executable, __file__, "--inner", str(out), str(args.iterations),
                        "0" if args.no_http else "1", "1" if args.profile else "0"],
                       cwd=REPO, env=env, check=True)
        timings = json.loads(out.read_text())
        if round_trip is not None:
            timings["delay_ms"] = args.delay_ms
            timings["round_trip_ms"] = round_trip
        profile = out.with_suffix(".profile.txt")
        if profile.exists():
            saved = RESULTS / f"flow-{args.database}-profile.txt"
            saved.write_text(profile.read_text())
            print(f"profile written to {saved}")

    result = {"benchmark": "flow", "database": args.database,
              "iterations": args.iterations, "machine": machine(), **timings}
    path = write_result(f"flow-{args.database}", result)
    print(json.dumps(result, indent=2))
    print(f"written to {path}")


@contextmanager
def _server(delay_ms: float | None) -> Iterator[tuple[str, float | None]]:
    """Yield the PostgreSQL server's URL, through a delaying proxy when `delay_ms` is given,
    and the median round trip of `SELECT 1` through it."""
    if delay_ms is None:
        yield DEFAULT_POSTGRES, None
        return
    import socket

    import psycopg

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proxy = subprocess.Popen([sys.executable, str(Path(__file__).with_name("latency_proxy.py")),
                              str(port), "5432", str(delay_ms)])
    server = DEFAULT_POSTGRES.replace("127.0.0.1:5432", f"127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                connection = psycopg.connect(server, autocommit=True)
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with connection:
            samples = []
            for _ in range(50):
                started = time.perf_counter()
                connection.execute("SELECT 1").fetchall()
                samples.append((time.perf_counter() - started) * 1000)
        yield server, round(statistics.median(samples), 2)
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)


# ---------------------------------------------------------------- inside the bench database


def inner(out: Path, iterations: int, with_http: bool, with_profile: bool) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backroom.settings")
    django.setup()
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    store = _store_setup()
    services = _time(lambda: _flow_services(store), iterations)
    floor = _time(_floor_flow(store), iterations)
    result = {"services_ms": services, "floor_ms": floor,
              "services_to_floor": round(services["mean"] / floor["mean"], 2)}
    if with_http:
        http = _time_http(store, iterations)
        result["http_ms"] = http
        result["http_to_floor"] = round(http["mean"] / floor["mean"], 2)
    if with_profile:
        out.with_suffix(".profile.txt").write_text(_profile(store))
    out.write_text(json.dumps(result))


def _profile(store: dict) -> str:
    """Count the SQL statements of one service flow, then profile 20 more and return the report."""
    import cProfile
    import io
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        _flow_services(store)
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [_flow_services(store) for _ in range(20)])
    text = io.StringIO()
    text.write(f"SQL statements in one flow: {len(queries.captured_queries)}\n")
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(20)
    return text.getvalue()


def _store_setup() -> dict:
    from decimal import Decimal

    from backroom.accounts.services import roles_ensure, token_create, user_create
    from backroom.catalog.models import Item, Vendor
    from backroom.core.models import StoreSettings
    from backroom.customers.models import Customer

    roles_ensure()
    StoreSettings.load()
    user = user_create(username="bench", role="owner", password="bench-Pass-2026")
    vendor = Vendor.objects.create(code="V", name="Vendor V", lead_time_days=5)
    customer = Customer.objects.create(name="Customer C", email="c@example.com")
    card = Item.objects.create(sku="A", description="birthday card", price=Decimal("4.00"),
                               cost=Decimal("1.50"), vendor=vendor, on_hand=1_000_000,
                               taxable=False)
    scarf = Item.objects.create(sku="B", description="blue scarf", price=Decimal("30.00"),
                                cost=Decimal("15.00"), vendor=vendor, taxable=False)
    return {"user": user, "vendor": vendor, "customer": customer, "card": card,
            "scarf": scarf, "token": token_create(user=user)[1]}


def _time(flow, iterations: int) -> dict:
    """Run `flow` `iterations` times after a warm-up and return its times in milliseconds.

    A flow that returns a number gives its own time in seconds, so that the
    services leave out the benchmark's reads between the steps. Otherwise the
    whole call is timed.
    """
    for _ in range(WARM_UP):
        flow()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        own = flow()
        took = time.perf_counter() - started if own is None else own
        samples.append(took * 1000)
    samples.sort()
    return {"mean": round(statistics.fmean(samples), 2),
            "p50": round(samples[len(samples) // 2], 2),
            "p95": round(samples[int(0.95 * (len(samples) - 1))], 2)}


def _flow_services(store: dict) -> float:
    """Run the flow through the services and return the seconds they took."""
    from decimal import Decimal

    from backroom.purchasing.services import (
        ReceiveLineInput,
        purchase_order_create,
        purchase_order_receive,
        purchase_order_submit,
    )
    from backroom.sales.payments import PaymentInput
    from backroom.sales.services import DeliverLine, LineInput, order_create, order_deliver

    user = store["user"]
    clock = time.perf_counter
    started = clock()
    order = order_create(user=user, order_type="sales_order", customer_id=store["customer"].pk,
                         lines=[LineInput(sku="A", quantity=1), LineInput(sku="B", quantity=1)],
                         payments=[PaymentInput(amount=Decimal("34.00"), tender="cash")])
    took = clock() - started
    # The benchmark's own reads of line ids are not timed. A counter or an API client
    # has the ids from the order it shows, as the floor keeps those it inserted.
    card_line = order.lines.get(item_id=store["card"].pk)
    started = clock()
    order_deliver(user=user, number=order.number,
                  lines=[DeliverLine(line_id=card_line.pk, quantity=1)])
    po = purchase_order_create(user=user, vendor="V", include_purchase_requests=True)
    purchase_order_submit(user=user, number=po.number)
    took += clock() - started
    po_line = po.lines.get()
    started = clock()
    purchase_order_receive(user=user, number=po.number,
                           lines=[ReceiveLineInput(line_id=po_line.pk, quantity=1)])
    order_deliver(user=user, number=order.number)
    return took + clock() - started


def _floor_flow(store: dict):
    """Return a function that runs the flow as plain SQL through the raw driver."""
    from floor import FloorFlow

    return FloorFlow.connect(store).run


# ---------------------------------------------------------------- over HTTP


def _time_http(store: dict, iterations: int) -> dict:
    from http_flow import HttpFlow, serve

    server, port = serve(1, Path(os.environ["BACKROOM_HOME"]) / "serve.log")
    try:
        client = HttpFlow("127.0.0.1", port, store["token"])
        return _time(client.run, iterations)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--inner":
        inner(Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5] == "1")
    else:
        main()
