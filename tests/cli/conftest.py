"""Fixtures for the command-line tests: password files and `backroom` subprocesses.

A subprocess cannot see the test database of pytest-django, so each test that
runs `backroom` as a program gets a database of its own. On SQLite that is a
file under a temporary folder. When DATABASE_URL names a PostgreSQL server, it
is a new database on that server, dropped afterwards.
"""

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

GOOD_PASSWORD = "shelf-Ledger-2026"

RunBackroom = Callable[..., subprocess.CompletedProcess]


def backroom_command() -> list[str]:
    """Return the installed `backroom` script, or its module when the package is not installed."""
    script = Path(sys.executable).with_name("backroom")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "backroom.cli"]


def _environment(home: Path) -> dict[str, str]:
    env = {
        name: value for name, value in os.environ.items()
        if not name.startswith("BACKROOM_")
        and name not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env["BACKROOM_HOME"] = str(home)
    return env


@contextmanager
def _own_database(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Give `env` an empty database of its own for as long as the block runs."""
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith(("postgres://", "postgresql://")):
        yield env  # SQLite: a new file under BACKROOM_HOME
        return
    name = f"test_br_cli_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield {**env, "DATABASE_URL": urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))}
    finally:
        with psycopg.connect(server_url, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                               .format(sql.Identifier(name)))


def _run(env: dict[str, str], *args: str, input: str = "",
         timeout: float = 120) -> subprocess.CompletedProcess:
    # A new session has no controlling terminal, so getpass reads the `input` text.
    return subprocess.run(
        [*backroom_command(), *args], env=env, input=input, capture_output=True, text=True,
        timeout=timeout, start_new_session=True, cwd=Path(env["BACKROOM_HOME"]).parent)


def _runner(env: dict[str, str]) -> RunBackroom:
    def run(*args: str, input: str = "", timeout: float = 120) -> subprocess.CompletedProcess:
        return _run(env, *args, input=input, timeout=timeout)

    return run


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Hash passwords with MD5 in this process, where the default hasher costs about a second.

    Subprocesses keep the production hasher.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def good_password() -> str:
    return GOOD_PASSWORD


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    """A password file as an editor writes it: the password and a newline."""
    path = tmp_path / "password.txt"
    path.write_text(GOOD_PASSWORD + "\n")
    return path


@pytest.fixture
def static_root(settings, tmp_path: Path) -> Path:
    """Send the files that `init` collects to a temporary folder."""
    settings.STATIC_ROOT = tmp_path / "static"
    return settings.STATIC_ROOT


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a `backroom` subprocess that never opens its database."""
    return _environment(tmp_path / "home")


@pytest.fixture
def fresh_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for `backroom` subprocesses with an empty database for this test."""
    with _own_database(_environment(tmp_path / "home")) as env:
        yield env


@pytest.fixture(scope="session")
def initialised_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment whose database went through `backroom init` once, shared by the session.

    Tests that use it add records under names of their own and never remove any.
    """
    folder = tmp_path_factory.mktemp("initialised")
    password_path = folder / "password.txt"
    password_path.write_text(GOOD_PASSWORD + "\n")
    with _own_database(_environment(folder / "home")) as env:
        result = _run(env, "init", "--password-file", str(password_path))
        assert result.returncode == 0, result.stderr
        yield env


@pytest.fixture
def run_backroom(fresh_env: dict[str, str]) -> RunBackroom:
    """Run `backroom ARGS...` on this test's empty database and return the finished process."""
    return _runner(fresh_env)


@pytest.fixture
def run_backroom_initialised(initialised_env: dict[str, str]) -> RunBackroom:
    """Run `backroom ARGS...` on the shared database where the owner 'owner' exists."""
    return _runner(initialised_env)


@pytest.fixture
def run_backroom_without_database(cli_env: dict[str, str]) -> RunBackroom:
    """Run `backroom ARGS...` for commands that fail or finish before opening the database."""
    return _runner(cli_env)


@pytest.fixture
def run_backroom_with(cli_env: dict[str, str], tmp_path: Path) -> RunBackroom:
    """Run `backroom ARGS...` in `tmp_path` with the environment variables of
    `variables` set on top of `cli_env`."""

    def run(variables: dict[str, str], *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*backroom_command(), *args], env={**cli_env, **variables}, input="",
            capture_output=True, text=True, timeout=120, start_new_session=True, cwd=tmp_path)

    return run


@dataclass
class Server:
    process: subprocess.Popen
    log_path: Path

    @property
    def output(self) -> str:
        return self.log_path.read_text()


@pytest.fixture
def start_server(initialised_env: dict[str, str],
                 tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start `backroom serve ARGS...` on the shared database and kill it at teardown if still up."""
    started: list[subprocess.Popen] = []

    def start(*args: str) -> Server:
        log_path = tmp_path / f"serve-{len(started)}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [*backroom_command(), "serve", *args], env=initialised_env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=Path(initialised_env["BACKROOM_HOME"]).parent)
        started.append(process)
        return Server(process, log_path)

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
