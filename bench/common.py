"""Helpers shared by the benchmarks: databases of their own, the machine, results."""

import datetime
import json
import os
import platform
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
PYTHON = REPO / ".venv" / "bin" / "python"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
DATA_ENV = "BACKROOM_RETAIL_DATA"


def retail_data() -> Path:
    """Return the online-retail file: $BACKROOM_RETAIL_DATA, else the shared data folder."""
    configured = os.environ.get(DATA_ENV)
    if configured:
        return Path(configured)
    return REPO.parent / "shared" / "data" / "online-retail" / "online_retail.csv.gz"


def machine() -> dict[str, str]:
    """Describe the machine: cores, CPU model, memory and load when the run started."""
    model = ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        model = platform.processor()
    memory = ""
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) // 1024 // 1024} GiB"
    return {"cores": str(os.cpu_count()), "cpu": model, "memory": memory,
            "load_average": " ".join(f"{value:.2f}" for value in os.getloadavg()),
            "python": platform.python_version()}


def write_result(name: str, result: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path


@contextmanager
def database(kind: str, server: str = DEFAULT_POSTGRES) -> Iterator[dict[str, str]]:
    """Create an empty database of its own and yield the environment that selects it.

    SQLite: a file in a fresh folder under bench/results. PostgreSQL: a new
    database with a unique name on `server`, dropped afterwards.
    """
    import tempfile

    RESULTS.mkdir(parents=True, exist_ok=True)
    home = tempfile.mkdtemp(prefix=f"{kind}-", dir=RESULTS)
    env = dict(os.environ, BACKROOM_HOME=home)
    env.pop("DATABASE_URL", None)
    if kind == "sqlite":
        yield env
        return
    import psycopg

    name = f"bench_br_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    env["DATABASE_URL"] = server.rsplit("/", 1)[0] + "/" + name
    try:
        yield env
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_command(env: dict[str, str], *args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a Django management command of the project in a child process."""
    return subprocess.run(
        [str(PYTHON), "-m", "django", *args, "--settings=backroom.settings", "--skip-checks"],
        cwd=REPO, env=env, check=True, **kwargs)
