"""Benchmark: cost of the busiest screens with 10 thousand to 1 million order lines stored.

    .venv/bin/python bench/scale.py sqlite|postgres [--sizes 10000,100000,1000000]
        [--no-http] [--profile]

For each size a fresh database is seeded with plain SQL inserts (orders of ten
lines, one order in fifty waiting for one back-ordered unit with its
purchase request), plus three items with 1,000 waiting customers each on a
submitted purchase order line. Then it measures:

- the first page (50 lines) of the waiting list, through the API view's code
  called in-process and through HTTP (`backroom serve` with one worker, after
  PAGE_WARM_UP untimed requests): p50, p95;
- receiving one PO line of 1,000 units that serves 1,000 waiting requests;
- finalizing one five-line sales order through `order_create`.

Results go to bench/results/scale-<database>-<time>.json. With --profile, the
first receipt and one waiting page also run under cProfile, and the top 25
entries by cumulative time go to a text file beside the JSON result.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, RESULTS, database, django_command, machine, write_result  # noqa: E402

LINES_PER_ORDER = 10
WAITING_ONE_IN = 50
RECEIPT_REQUESTS = 1000
RECEIPT_SAMPLES = 3
PAGE_SAMPLES = 40
PAGE_WARM_UP = 3
FINALIZE_SAMPLES = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", choices=["sqlite", "postgres"])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="write a cProfile of one receipt and one waiting page")
    args = parser.parse_args()

    results = {}
    for size in [int(text) for text in args.sizes.split(",")]:
        with database(args.database) as env:
            django_command(env, "migrate", "-v", "0")
            out = Path(env["BACKROOM_HOME"]) / "scale.json"
            subprocess.run([sys.executable, __file__, "--inner", str(out), str(size),
                            "0" if args.no_http else "1", "1" if args.profile else "0"],
                           cwd=REPO, env=env, check=True)
            results[str(size)] = json.loads(out.read_text())
            profile = out.with_suffix(".profile.txt")
            if profile.exists():
                saved = RESULTS / f"scale-{args.database}-{size}-profile.txt"
                saved.write_text(profile.read_text())
                print(f"profile written to {saved}")
            print(size, json.dumps(results[str(size)]), flush=True)

    result = {"benchmark": "scale", "database": args.database, "machine": machine(),
              "sizes": results}
    path = write_result(f"scale-{args.database}", result)
    print(f"written to {path}")


def _spread(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {"p50": round(samples[len(samples) // 2], 2),
            "p95": round(samples[int(0.95 * (len(samples) - 1))], 2),
            "mean": round(statistics.fmean(samples), 2)}


def inner(out: Path, size: int, with_http: bool, with_profile: bool) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backroom.settings")
    django.setup()
    from django.conf import settings
    from seed import seed_store

    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    started = time.perf_counter()
    receipt_items = RECEIPT_SAMPLES + (1 if with_profile else 0)
    store = seed_store(size, LINES_PER_ORDER, WAITING_ONE_IN, RECEIPT_REQUESTS,
                       receipt_items)
    load_before = " ".join(f"{value:.2f}" for value in os.getloadavg())
    result: dict = {"load_average_before": load_before,
                    "seed_seconds": round(time.perf_counter() - started, 1),
                    "order_lines": store["lines"]}
    result["waiting_page_service_ms"] = _spread(_page_samples())
    if with_http:
        result["waiting_page_http_ms"] = _spread(_http_page_samples(store["token"]))
    if with_profile:
        out.with_suffix(".profile.txt").write_text(_profile(store))
    result["receive_1000_ms"] = _spread(_receipt_samples(store, receipt_items))
    result["finalize_ms"] = _spread(_finalize_samples(store))
    result["load_average_after"] = " ".join(f"{value:.2f}" for value in os.getloadavg())
    out.write_text(json.dumps(result))


def _page_samples() -> list[float]:
    """Time the first 50 waiting lines through the API view's own code, without HTTP.

    The view reads the back-ordered lines, then the others, each newest first
    (`paginate_segments`).
    """
    from backroom.sales.api import OrderFilters, order_list

    filters = OrderFilters(status=["waiting"], view="lines", limit=50)
    samples = []
    for _ in range(PAGE_SAMPLES):
        started = time.perf_counter()
        page = order_list(None, filters)
        assert len(page["items"]) == 50
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _http_page_samples(token: str) -> list[float]:
    """Time the same page through `backroom serve` with one worker, after PAGE_WARM_UP
    untimed requests that let the new worker load the application."""
    from http_flow import HttpFlow, serve

    server, port = serve(1, Path(os.environ["BACKROOM_HOME"]) / "serve.log")
    try:
        client = HttpFlow("127.0.0.1", port, token)
        for _ in range(PAGE_WARM_UP):
            client.call("GET", "/orders?status=waiting&view=lines&limit=50")
        samples = []
        for _ in range(PAGE_SAMPLES):
            started = time.perf_counter()
            page = client.call("GET", "/orders?status=waiting&view=lines&limit=50")
            assert len(page["items"]) == 50
            samples.append((time.perf_counter() - started) * 1000)
        return samples
    finally:
        server.terminate()
        server.wait(timeout=30)


def _receipt_samples(store: dict, receipt_items: int) -> list[float]:
    from backroom.purchasing.models import ReceivingNotice
    from backroom.purchasing.services import ReceiveLineInput, purchase_order_receive

    samples = []
    for number, line_id in store["receipt_lines"]:
        started = time.perf_counter()
        purchase_order_receive(user=store["user"], number=number, lines=[
            ReceiveLineInput(line_id=line_id, quantity=RECEIPT_REQUESTS)])
        samples.append((time.perf_counter() - started) * 1000)
    assert ReceivingNotice.objects.count() == RECEIPT_REQUESTS * receipt_items, \
        "every receipt, profiled or timed, must notify its 1,000 waiting customers"
    return samples


def _profile(store: dict) -> str:
    """Profile one waiting page and one receipt, and return both reports as text.

    It uses an extra receipt line seeded for it, so the timed samples stay
    RECEIPT_SAMPLES.
    """
    import cProfile
    import io
    import pstats

    from backroom.purchasing.services import ReceiveLineInput, purchase_order_receive
    from backroom.sales.api import OrderFilters, order_list

    reports = []
    filters = OrderFilters(status=["waiting"], view="lines", limit=50)
    number, line_id = store["receipt_lines"].pop(0)
    jobs = [("waiting page", lambda: order_list(None, filters)),
            (f"receipt of {RECEIPT_REQUESTS} requests", lambda: purchase_order_receive(
                user=store["user"], number=number,
                lines=[ReceiveLineInput(line_id=line_id, quantity=RECEIPT_REQUESTS)]))]
    for title, job in jobs:
        profiler = cProfile.Profile()
        profiler.runcall(job)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
        reports.append(f"== {title}\n{text.getvalue()}")
    return "\n".join(reports)


def _finalize_samples(store: dict) -> list[float]:
    from decimal import Decimal

    from backroom.sales.payments import PaymentInput
    from backroom.sales.services import LineInput, order_create

    samples = []
    for _ in range(FINALIZE_SAMPLES):
        started = time.perf_counter()
        order_create(user=store["user"], order_type="sales_order",
                     customer_id=store["customer"],
                     lines=[LineInput(sku=sku, quantity=1) for sku in store["stock_skus"][:5]],
                     payments=[PaymentInput(amount=Decimal("5.00"), tender="card")])
        samples.append((time.perf_counter() - started) * 1000)
    return samples


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--inner":
        inner(Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5] == "1")
    else:
        main()
