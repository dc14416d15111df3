import http.client
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

START_TIMEOUT = 60
STOP_TIMEOUT = 40


@dataclass(frozen=True)
class Response:
    status: int
    server: str
    body: bytes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str) -> Response:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return Response(response.status, response.getheader("Server", ""), response.read())
    finally:
        connection.close()


def _wait_until_serving(process: subprocess.Popen, port: int) -> Response:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(f"backroom serve exited early with code {process.returncode}")
        try:
            return _get(port, "/")
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"backroom serve did not answer within {START_TIMEOUT} s")
            time.sleep(0.2)


def _children(pid: int) -> list[int]:
    """Return the ids of the processes whose parent is `pid`, from /proc."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # the process exited while being read
        # The parent id is the second field after the parenthesised command name.
        if int(stat[stat.rfind(")") + 2:].split()[1]) == pid:
            children.append(int(entry.name))
    return children


def _database_connections(env: dict[str, str], worker: int) -> int:
    """Count the worker's open connections to the database of `env`."""
    url = env.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        database = Path(env["BACKROOM_HOME"]) / "backroom.sqlite3"
        links = [os.readlink(fd) for fd in Path(f"/proc/{worker}/fd").iterdir()]
        return links.count(str(database))
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> "
            "pg_backend_pid()", [name]).fetchone()
    assert row is not None
    return int(row[0])


def _first_static_file(home: Path) -> str:
    static_root = home / "static"
    path = next(path for path in sorted(static_root.rglob("*.js")) if path.is_file())
    return "/static/" + path.relative_to(static_root).as_posix()


def test_serve_answers_http_and_stops(initialised_env, start_server):
    port = _free_port()

    server = start_server("--host", "127.0.0.1", "--port", str(port), "--workers", "1")
    page = _wait_until_serving(server.process, port)
    static = _get(port, _first_static_file(Path(initialised_env["BACKROOM_HOME"])))
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(timeout=STOP_TIMEOUT)

    assert page.status in (200, 301, 302), server.output
    assert page.server.startswith("gunicorn")
    assert static.status == 200
    assert static.body
    assert code == 0, server.output
    assert f"Backroom server started on http://127.0.0.1:{port} with 1 worker " in server.output
    assert "Backroom server stopped" in server.output


def test_serve_refuses_database_without_init(run_backroom):
    result = run_backroom("serve", "--port", str(_free_port()))

    assert result.returncode == 1
    assert "Run `backroom init`" in result.stderr
    assert "is not set up" in result.stderr


def test_serve_rejects_bad_port(run_backroom_without_database):
    result = run_backroom_without_database("serve", "--port", "70000")

    assert result.returncode == 1
    assert "Port 70000 is invalid" in result.stderr


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_serve_keeps_database_connection(initialised_env, start_server):
    port = _free_port()
    server = start_server("--host", "127.0.0.1", "--port", str(port), "--workers", "1")
    _wait_until_serving(server.process, port)

    # Looking up the token opens the worker's database connection. The static file
    # needs none, and the one worker handles it only after the first request ended.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/api/v1/orders", headers={"Authorization": "Bearer br_wrong"})
    rejected = connection.getresponse().status
    connection.close()
    static = _get(port, _first_static_file(Path(initialised_env["BACKROOM_HOME"])))
    workers = _children(server.process.pid)

    assert rejected == 401
    assert static.status == 200
    assert len(workers) == 1
    assert _database_connections(initialised_env, workers[0]) == 1


@contextmanager
def customers_locked(env: dict[str, str]) -> Iterator[None]:
    """Keep new customers from being written in the block, from a connection of the test."""
    url = env.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        with psycopg.connect(url) as connection:
            connection.execute("LOCK TABLE customers_customer IN EXCLUSIVE MODE")
            yield
            connection.rollback()
        return
    database = sqlite3.connect(Path(env["BACKROOM_HOME"]) / "backroom.sqlite3",
                               isolation_level=None)
    try:
        database.execute("BEGIN IMMEDIATE")
        yield
        database.execute("ROLLBACK")
    finally:
        database.close()


def test_ctrl_c_lets_running_request_finish(initialised_env, start_server,
                                             run_backroom_initialised):
    token = run_backroom_initialised("token", "create", "owner").stdout.splitlines()[-1]
    port = _free_port()
    server = start_server("--host", "127.0.0.1", "--port", str(port), "--workers", "1")
    _wait_until_serving(server.process, port)
    answer: dict[str, object] = {}

    def create_customer() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/api/v1/customers", body='{"name": "Late Customer"}',
                           headers={"Authorization": f"Bearer {token}",
                                    "Content-Type": "application/json"})
        response = connection.getresponse()
        answer["status"], answer["body"] = response.status, response.read()
        connection.close()

    with customers_locked(initialised_env):
        request = threading.Thread(target=create_customer)
        request.start()
        # The worker now waits for the lock. Ctrl+C in a terminal signals every process
        # of the server's group.
        time.sleep(1.0)
        os.killpg(server.process.pid, signal.SIGINT)
        time.sleep(1.0)
    request.join(timeout=STOP_TIMEOUT)
    code = server.process.wait(timeout=STOP_TIMEOUT)

    assert answer.get("status") == 201, (answer, server.output)
    assert b"Late Customer" in answer["body"]
    assert code == 0, server.output
