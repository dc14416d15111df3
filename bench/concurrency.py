"""Benchmark: throughput of the back-order flow over HTTP with 1, 2 and 4 server workers.

    .venv/bin/python bench/concurrency.py [--clients 8] [--seconds 30] [--workers 1,2,4]
        [--rounds 3]

On a fresh PostgreSQL database, `backroom serve` runs once per worker count,
each server on its own loopback port. Then `clients` threads each run the flow
of bench/http_flow.py on their own vendor, items and customer, against one
server at a time. Every server gets `seconds` of load in all, split into
`rounds` slices that take turns (1, 2, 4, 1, 2, 4, ...), so a change in the
machine's other load during the run falls on every worker count alike. Each
client runs one untimed flow against each server first, so that the workers
have loaded the application before any timed slice.

For each slice the benchmark records the CPU time, in cores, that the
machine spent in all (/proc/stat), and that the server (gunicorn's arbiter
and workers), the PostgreSQL backends connected to the bench database and
this client process used. A backend that exits within a slice is not counted,
for example the connection that a ready notice's background thread opens and
closes. The result also records whether the kernel's autogroup scheduling is
on. After each slice the engine's invariant checker must find nothing. Results
go to bench/results/concurrency-<time>.json.
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

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30,
                        help="seconds of load per worker count, over all rounds (default: 30)")
    parser.add_argument("--workers", default="1,2,4",
                        help="comma-separated worker counts (default: 1,2,4)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="slices per worker count, taken in turns (default: 3)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds {args.rounds} is invalid; give 1 or more")

    load_before = " ".join(f"{value:.2f}" for value in os.getloadavg())
    with database("postgres") as env:
        django_command(env, "migrate", "-v", "0")
        out = Path(env["BACKROOM_HOME"]) / "concurrency.json"
        subprocess.run([sys.executable, __file__, "--inner", str(out), str(args.clients),
                        str(args.seconds), args.workers, str(args.rounds)],
                       cwd=REPO, env=env, check=True)
        runs = json.loads(out.read_text())
    base = runs["1"]["flows_per_second"] if "1" in runs else None
    for run in runs.values():
        run["speed_up"] = round(run["flows_per_second"] / base, 2) if base else None
    result = {"benchmark": "concurrency", "database": "postgres", "clients": args.clients,
              "seconds": args.seconds, "rounds": args.rounds,
              "load_average_before": load_before, "machine": machine(),
              "scheduler_autogroup": _autogroup(), "workers": runs}
    path = write_result("concurrency", result)
    print(json.dumps(result, indent=2))
    print(f"written to {path}")


def _autogroup() -> str:
    """Return "on" when Linux divides CPU time between sessions first (autogroup), "off"
    when it does not, and "unknown" when its /proc setting cannot be read.

    With autogroup on, each session gets no larger part of the CPU than any other busy
    session: the clients form one, the server (started in a session of its own) another,
    and PostgreSQL a third.
    """
    try:
        enabled = Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip()
    except OSError:
        return "unknown"
    return "on" if enabled == "1" else "off"


def inner(out: Path, clients: int, seconds: float, worker_counts: str, rounds: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backroom.settings")
    django.setup()
    from decimal import Decimal

    from django.db import connection
    from http_flow import HttpFlow, serve

    from backroom.accounts.services import roles_ensure, token_create, user_create
    from backroom.catalog.models import Item, Vendor
    from backroom.core.invariants import invariant_violations
    from backroom.core.models import StoreSettings
    from backroom.customers.models import Customer

    roles_ensure()
    StoreSettings.load()
    user = user_create(username="bench", role="owner", password="bench-Pass-2026")
    token = token_create(user=user)[1]
    customers = []
    for client in range(clients):
        vendor = Vendor.objects.create(code=f"V{client}", name=f"Vendor {client}")
        customers.append(Customer.objects.create(name=f"Customer C{client}",
                                                 email=f"c{client}@example.com").pk)
        Item.objects.create(sku=f"A{client}", description="birthday card",
                            price=Decimal("4.00"), vendor=vendor, on_hand=1_000_000,
                            taxable=False)
        Item.objects.create(sku=f"B{client}", description="blue scarf", price=Decimal("30.00"),
                            cost=Decimal("15.00"), vendor=vendor, taxable=False)
    database_name = connection.settings_dict["NAME"]
    home = Path(os.environ["BACKROOM_HOME"])

    counts = [int(text) for text in worker_counts.split(",")]
    servers = {}
    try:
        for workers in counts:
            servers[workers] = serve(workers, home / f"serve-{workers}-workers.log")
        for workers, (_, port) in servers.items():
            warm_up = _drive(port, token, customers, 0, HttpFlow)
            if warm_up["errors"]:
                raise RuntimeError(f"warm-up with {workers} workers failed: "
                                   f"{warm_up['first_errors']}")
        slices: dict[int, list[dict]] = {workers: [] for workers in counts}
        for _ in range(rounds):
            for workers, (server, port) in servers.items():
                before = _cpu_ticks(server.pid, database_name)
                driven = _drive(port, token, customers, seconds / rounds, HttpFlow)
                driven["cpu_cores"] = _cpu_cores(before, _cpu_ticks(server.pid, database_name))
                violations = invariant_violations()
                driven["invariant_violations"] = len(violations)
                driven["first_violations"] = violations[:5]
                slices[workers].append(driven)
    finally:
        for server, _ in servers.values():
            server.terminate()
        for server, _ in servers.values():
            server.wait(timeout=60)
    out.write_text(json.dumps({str(workers): _summary(runs) for workers, runs in slices.items()}))


def _drive(port: int, token: str, customers: list[int], seconds: float, flow_class) -> dict:
    """Run the clients against one server until `seconds` have passed.

    Each client finishes the flow it is in, so with `seconds` 0 each runs one flow.
    """
    done = [0] * len(customers)
    errors: list[str] = []
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        flow = flow_class("127.0.0.1", port, token, suffix=str(index),
                          customer=customers[index])
        while True:
            try:
                flow.run()
            except Exception as error:  # noqa: BLE001 - counted and reported, the run goes on
                errors.append(f"client {index}: {error}")
                flow = flow_class("127.0.0.1", port, token, suffix=str(index),
                                  customer=customers[index])
            else:
                done[index] += 1
            if time.monotonic() >= stop:
                return

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(index,)) for index in range(len(customers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"flows": sum(done), "seconds": time.monotonic() - started, "errors": len(errors),
            "first_errors": errors[:5]}


def _process_ticks(pid: str) -> tuple[int, int, str]:
    """Return (user + system clock ticks, parent pid, command line) of a process."""
    with open(f"/proc/{pid}/stat") as stat_file:
        stat = stat_file.read()
    with open(f"/proc/{pid}/cmdline", "rb") as cmdline_file:
        command = cmdline_file.read().replace(b"\0", b" ").decode(errors="replace")
    # The fields after the parenthesised command name: state is the first, ppid the second.
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[11]) + int(fields[12]), int(fields[1]), command


def _cpu_ticks(server_pid: int, database_name: str) -> dict:
    """Read the CPU clock ticks of the machine and of the processes the benchmark drives."""
    with open("/proc/stat") as stat_file:
        # user, nice, system, idle, iowait, irq, softirq and steal. The guest fields that
        # follow are already counted in user and nice.
        machine_fields = [int(value) for value in stat_file.readline().split()[1:9]]
    busy = sum(machine_fields) - machine_fields[3] - machine_fields[4]
    ticks = {"machine": busy, "client": 0, "server": {}, "postgres": {}}
    times = os.times()
    ticks["client"] = round((times.user + times.system) * CLOCK_TICKS)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            used, parent, command = _process_ticks(pid)
        except (OSError, IndexError, ValueError):
            continue  # the process exited while being read
        if int(pid) == server_pid or parent == server_pid:
            ticks["server"][pid] = used
        elif command.startswith("postgres: ") and f" {database_name} " in command:
            ticks["postgres"][pid] = used
    return ticks


def _cpu_cores(before: dict, after: dict) -> dict:
    """Turn two tick readings into the cores used in between.

    A process that started in between counts from zero, and one that exited is left out.
    """
    def spent(group: str) -> int:
        return sum(used - before[group].get(pid, 0) for pid, used in after[group].items())

    ticks = {"machine_busy": after["machine"] - before["machine"],
             "server": spent("server"), "postgres_bench": spent("postgres"),
             "client": after["client"] - before["client"]}
    return {name: value / CLOCK_TICKS for name, value in ticks.items()}


def _summary(slices: list[dict]) -> dict:
    """Add up the slices of one worker count; CPU figures become cores on average."""
    seconds = sum(part["seconds"] for part in slices)
    flows = sum(part["flows"] for part in slices)
    cores = {name: round(sum(part["cpu_cores"][name] for part in slices) / seconds, 2)
             for name in slices[0]["cpu_cores"]}
    return {"flows": flows, "seconds": round(seconds, 1),
            "flows_per_second": round(flows / seconds, 2),
            "errors": sum(part["errors"] for part in slices),
            "first_errors": [error for part in slices for error in part["first_errors"]][:5],
            "invariant_violations": sum(part["invariant_violations"] for part in slices),
            "first_violations": [text for part in slices
                                 for text in part["first_violations"]][:5],
            "cpu_cores": cores,
            "slices": [{"flows": part["flows"], "seconds": round(part["seconds"], 1)}
                       for part in slices]}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--inner":
        inner(Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5],
              int(sys.argv[6]))
    else:
        main()
