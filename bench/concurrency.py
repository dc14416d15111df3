"""Benchmark: throughput of the back-order flow over HTTP with 1, 2 and 4 server workers.

    .venv/bin/python bench/concurrency.py [--clients 8] [--seconds 30] [--workers 1,2,4]

On a fresh PostgreSQL database, each of `clients` threads runs the flow of
bench/http_flow.py on its own vendor, items and customer, against gunicorn on
127.0.0.1, for `seconds` seconds per worker count. Afterwards the engine's
invariant checker must find nothing. Results go to
bench/results/concurrency-<time>.json.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, database, django_command, machine, write_result  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()

    runs = {}
    with database("postgres") as env:
        django_command(env, "migrate", "-v", "0")
        out = Path(env["BACKROOM_HOME"]) / "concurrency.json"
        subprocess.run([sys.executable, __file__, "--inner", str(out), str(args.clients),
                        str(args.seconds), args.workers], cwd=REPO, env=env, check=True)
        runs = json.loads(out.read_text())
    base = runs["1"]["flows_per_second"] if "1" in runs else None
    for run in runs.values():
        run["speed_up"] = round(run["flows_per_second"] / base, 2) if base else None
    result = {"benchmark": "concurrency", "database": "postgres", "clients": args.clients,
              "seconds": args.seconds, "machine": machine(), "workers": runs}
    path = write_result("concurrency", result)
    print(json.dumps(result, indent=2))
    print(f"written to {path}")


def inner(out: Path, clients: int, seconds: float, worker_counts: str) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backroom.settings")
    django.setup()
    from decimal import Decimal

    from flow import serve
    from http_flow import HttpFlow

    from backroom.accounts.services import roles_ensure, token_create, user_create
    from backroom.catalog.models import Item, Vendor
    from backroom.core.invariants import invariant_violations
    from backroom.core.models import StoreSettings
    from backroom.customers.models import Customer

    roles_ensure()
    StoreSettings.load()
    user = user_create(username="bench", role="owner", password="bench-Pass-2026")
    token = token_create(user=user)[1]
    for client in range(clients):
        vendor = Vendor.objects.create(code=f"V{client}", name=f"Vendor {client}")
        Customer.objects.create(name=f"Customer C{client}", email=f"c{client}@example.com")
        Item.objects.create(sku=f"A{client}", description="birthday card",
                            price=Decimal("4.00"), vendor=vendor, on_hand=1_000_000,
                            taxable=False)
        Item.objects.create(sku=f"B{client}", description="blue scarf", price=Decimal("30.00"),
                            cost=Decimal("15.00"), vendor=vendor, taxable=False)

    runs = {}
    for workers in [int(text) for text in worker_counts.split(",")]:
        server, port = serve(workers)
        try:
            runs[str(workers)] = _drive(port, token, clients, seconds, HttpFlow)
        finally:
            server.terminate()
            server.wait(timeout=30)
        violations = invariant_violations()
        runs[str(workers)]["invariant_violations"] = len(violations)
        runs[str(workers)]["first_violations"] = violations[:5]
    out.write_text(json.dumps(runs))


def _drive(port: int, token: str, clients: int, seconds: float, flow_class) -> dict:
    done = [0] * clients
    errors: list[str] = []
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        flow = flow_class("127.0.0.1", port, token, suffix=str(index))
        while time.monotonic() < stop:
            try:
                flow.run()
            except Exception as error:  # noqa: BLE001 - counted and reported, the run goes on
                errors.append(f"client {index}: {error}")
                flow = flow_class("127.0.0.1", port, token, suffix=str(index))
                continue
            done[index] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {"flows": sum(done), "seconds": round(elapsed, 1),
            "flows_per_second": round(sum(done) / elapsed, 2), "errors": len(errors),
            "first_errors": errors[:5]}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--inner":
        inner(Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
    else:
        main()
