"""Benchmark: replay the online-retail year through the services on a fresh database.

    .venv/bin/python bench/replay_year.py sqlite|postgres [--to YYYY-MM-DD]

Measures the wall time of `replay` in a child process, lines per second and
the child's peak resident memory, and writes them with the replay report to
bench/results/replay-<database>-<time>.json.
"""

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import database, django_command, machine, retail_data, write_result  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", choices=["sqlite", "postgres"])
    parser.add_argument("--to", help="last invoice date to replay (default: the whole file)")
    parser.add_argument("--from", dest="start", help="first invoice date to replay")
    args = parser.parse_args()

    with database(args.database) as env:
        django_command(env, "migrate", "-v", "0")
        report_path = Path(env["BACKROOM_HOME"]) / "report.json"
        command = ["replay", str(retail_data()), "--report", str(report_path), "-v", "0"]
        if args.to:
            command += ["--to", args.to]
        if args.start:
            command += ["--from", args.start]
        machine_before = machine()
        started = time.perf_counter()
        with open(Path(env["BACKROOM_HOME"]) / "out.txt", "w") as output:
            django_command(env, *command, stdout=output)
        wall = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        report = json.loads(report_path.read_text())

    lines = report["lines"]["read"]
    result = {
        "benchmark": "replay", "database": args.database, "from": args.start, "to": args.to,
        "wall_seconds": round(wall, 1), "lines": lines,
        "lines_per_second": round(lines / wall, 1), "peak_memory_mib": round(peak_kib / 1024),
        "machine": machine_before, "report": report,
    }
    path = write_result(f"replay-{args.database}", result)
    print(json.dumps({key: value for key, value in result.items() if key != "report"}, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
