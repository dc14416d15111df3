import logging
import os
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.utils.translation import ngettext
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from backroom.core.management.database import (
    database_label,
    require_database_ready,
    static_files_collect,
)

logger = logging.getLogger(__name__)


# Gunicorn's design notes start from 2 workers per CPU core plus 1, and state that 4 to
# 12 workers handle hundreds or thousands of requests per second.
MAX_DEFAULT_WORKERS = 12


def default_workers() -> int:
    """Return 2 workers per CPU core this process may use, plus 1, and at most 12."""
    return min(2 * len(os.sched_getaffinity(0)) + 1, MAX_DEFAULT_WORKERS)


class BackroomServer(BaseApplication):
    """Gunicorn's arbiter serving backroom.wsgi:application, configured in code."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        assert self.cfg is not None
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # Gunicorn 25.1 and later open a control socket at one fixed path per user, so a
        # second server on the same machine would take over the first one's socket.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        from backroom.wsgi import application

        return application

    def run(self) -> None:
        try:
            _GracefulArbiter(self).run()
        except RuntimeError as error:
            # As gunicorn's own run(): the arbiter could not start.
            raise CommandError(f"The server could not start: {error}") from None


class _GracefulArbiter(Arbiter):
    """Gunicorn's arbiter, stopping on SIGINT (Ctrl+C) as on SIGTERM, so the workers finish
    the requests in progress first."""

    def handle_int(self) -> None:
        self.handle_term()


def _post_worker_init(worker: Any) -> None:
    # Ctrl+C in a terminal sends SIGINT to every process of the server, and a worker
    # would stop in the middle of a request. The arbiter stops the workers instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _when_ready(server: Any) -> None:
    addresses = ", ".join(f"http://{address}" for address in server.cfg.bind)
    workers = ngettext("%d worker", "%d workers", server.num_workers) % server.num_workers
    logger.info("Backroom server started on %s with %s (pid %d)", addresses, workers, server.pid)


def _on_exit(server: Any) -> None:
    logger.info("Backroom server stopped (pid %d)", server.pid)


def _worker_exit(server: Any, worker: Any) -> None:
    from backroom.sales.notices import EXIT_GRACE_SECONDS, ready_notices_wait

    if not ready_notices_wait(timeout=EXIT_GRACE_SECONDS):
        logger.warning("worker %d stopped with ready notices still unsent after %d s; "
                       "backroom remind sends them", worker.pid, EXIT_GRACE_SECONDS)


class Command(BaseCommand):
    help = "Run the production web server (gunicorn) for the screens and the REST API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1",
            help="address to listen on (default: 127.0.0.1, which only this machine reaches). "
                 "0.0.0.0 listens on every network interface.")
        parser.add_argument("--port", type=int, default=8000,
                            help="TCP port to listen on (default: 8000)")
        parser.add_argument(
            "--workers", type=int, default=None,
            help="number of worker processes, each serving one request at a time "
                 f"(default: 2 per CPU core plus 1, at most {MAX_DEFAULT_WORKERS}; "
                 f"here {default_workers()})")
        parser.add_argument(
            "--timeout", type=int, default=30,
            help="seconds a request may run before its worker is restarted (default: 30)")
        parser.add_argument("--access-log", action="store_true",
                            help="write one line per request to standard output")

    def handle(self, *args, host: str, port: int, workers: int | None, timeout: int,
               access_log: bool, **options) -> None:
        if not 1 <= port <= 65535:
            raise CommandError(f"Port {port} is invalid. Give a port from 1 to 65535.")
        workers = default_workers() if workers is None else workers
        if workers < 1:
            raise CommandError(f"--workers {workers} is invalid. Give 1 or more.")
        if timeout < 1:
            raise CommandError(f"--timeout {timeout} is invalid. Give 1 second or more.")
        require_database_ready()
        static_files_collect()
        # The workers are forked from this process, so none may inherit its open connection.
        connections.close_all()

        bind = f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
        logger.info("starting Backroom on %s with the %s", bind, database_label())
        config: dict[str, Any] = {
            "bind": [bind],
            "workers": workers,
            "worker_class": "sync",
            "timeout": timeout,
            "proc_name": "backroom",
            "when_ready": _when_ready,
            "on_exit": _on_exit,
            "worker_exit": _worker_exit,
            "post_worker_init": _post_worker_init,
        }
        if access_log:
            config["accesslog"] = "-"
        BackroomServer(config).run()
