"""A real Backroom server on a loopback port for the browser tests.

The server runs in its own process with its own BACKROOM_HOME and database:
a temporary SQLite file, or on PostgreSQL a database named after
BACKROOM_TEST_DB_NAME that is created here and dropped at the end.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import dj_database_url

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
START_TIMEOUT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class BackroomServer:
    """Start `backroom serve` on a free loopback port, with its own home and database."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="backroom-browser-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url, self._pg_name = self._database()
        self.env = {**os.environ, "BACKROOM_HOME": str(self.home),
                    "DATABASE_URL": self.database_url, "DJANGO_SETTINGS_MODULE":
                    "backroom.settings", "BACKROOM_SECRET_KEY": uuid.uuid4().hex}
        self.env.pop("BACKROOM_TEST_DB_NAME", None)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.home / "server.log"

    def _database(self) -> tuple[str, str | None]:
        outer = os.environ.get("DATABASE_URL", "")
        if not outer.startswith("postgres"):
            return f"sqlite:///{self.home / 'browser.sqlite3'}", None
        base = os.environ.get("BACKROOM_TEST_DB_NAME", "test_backroom")
        name = f"{base}_browser_{os.getpid()}"
        self._admin_sql(outer, f'CREATE DATABASE "{name}"')
        config = dj_database_url.parse(outer)
        user = config.get("USER") or "postgres"
        host = config.get("HOST") or "127.0.0.1"
        port = config.get("PORT") or 5432
        password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
        return f"postgresql://{user}{password}@{host}:{port}/{name}", name

    @staticmethod
    def _admin_sql(url: str, statement: str) -> None:
        import psycopg

        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(statement)  # type: ignore[arg-type]

    def python(self, code: str) -> str:
        """Run Python with Django set up in the server's environment; return its output."""
        script = "import django\ndjango.setup()\n" + code
        done = subprocess.run([str(BIN / "python"), "-c", script], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"python in the server environment failed:\n{done.stderr}")
        return done.stdout

    def start(self) -> None:
        subprocess.run([str(BIN / "python"), "-m", "django", "migrate", "--no-input", "-v", "0",
                        "--settings=backroom.settings"], env=self.env, cwd=ROOT, check=True,
                       timeout=300)
        command = [str(BIN / "backroom"), "serve", "--host", "127.0.0.1", "--port",
                   str(self.port), "--workers", "3"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log,
                                            stderr=subprocess.STDOUT)
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited early:\n{self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the server did not answer within {START_TIMEOUT_SECONDS} s:\n"
                           f"{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._pg_name:
            self._admin_sql(os.environ["DATABASE_URL"],
                            f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')
