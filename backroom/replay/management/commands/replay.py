import contextlib
import datetime
import gc
import json
import logging
import os
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from backroom.core.errors import BackroomError
from backroom.core.management.database import require_database_ready
from backroom.replay.runner import (
    Replay,
    ReplayInterrupted,
    ReplayOptions,
    ReplayRejected,
    Terminated,
)
from backroom.replay.runs import recover_unfinished_runs
from backroom.replay.source import SourceError
from backroom.replay.upserts import RowInvalid

# The replay's customers have made-up addresses: their notices are never sent.
QUIET_MAIL = "django.core.mail.backends.dummy.EmailBackend"


# Python 3.11's date.fromisoformat also reads 20101201 and 2010-W48-3, so the
# form is checked first.
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(option: str, text: str) -> datetime.date:
    """Parse the date of an option, written YYYY-MM-DD; raise CommandError otherwise."""
    if ISO_DATE.fullmatch(text):
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            pass
    raise CommandError(f"{option} '{text}' is not a date; write it as YYYY-MM-DD, for "
                       "example 2011-03-01.")


def _check_paths(source: Path, report: Path | None) -> None:
    """Raise CommandError unless the source is a file and the report can be written."""
    if not source.exists():
        raise CommandError(f"File {source} not found; give the path of the .csv.gz file.")
    if not source.is_file():
        raise CommandError(f"{source} is not a file; give the path of the .csv.gz file.")
    if report is not None:
        _check_report_path(report, source)


def _check_report_path(report: Path, source: Path) -> None:
    """Raise CommandError unless the report file can be written and is not the source,
    before anything runs."""
    if report.resolve() == source.resolve():
        raise CommandError(f"--report {report} is the file to replay; give another file name "
                           "for the report.")
    if report.is_dir():
        raise CommandError(f"--report {report} is a folder; give a file name, for example "
                           f"{report / 'report.json'}.")
    folder = report.parent
    if not folder.is_dir():
        raise CommandError(f"--report {report}: the folder {folder} does not exist; create it "
                           "or give another path.")
    if not os.access(folder, os.W_OK) or (report.exists() and not os.access(report, os.W_OK)):
        raise CommandError(f"--report {report} cannot be written; give a path you may write.")


@contextlib.contextmanager
def _quiet_notices() -> Iterator[None]:
    """Send the replay's ready notices nowhere, without a log line each."""
    notices_logger = logging.getLogger("backroom.sales.notices")
    before = (settings.EMAIL_BACKEND, getattr(settings, "BACKROOM_NOTICES_IN_BACKGROUND", True),
              notices_logger.level)
    settings.EMAIL_BACKEND = QUIET_MAIL
    # Each transaction's notices go out in this thread, right after its commit: a
    # sender thread's own connection would contend with the replay for the
    # database's write lock (SQLite has one writer at a time).
    settings.BACKROOM_NOTICES_IN_BACKGROUND = False
    notices_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        settings.EMAIL_BACKEND, settings.BACKROOM_NOTICES_IN_BACKGROUND, level = before
        notices_logger.setLevel(level)


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Collect cyclic garbage less often in the block.

    The replay builds millions of short-lived rows and events. With Python's
    default thresholds, the collector runs after every 700 new objects and
    walks the objects of Django and of the replay's caches again and again.
    Objects made before the block are left out of the walks, and the young
    generation is collected after 20,000 new objects.
    """
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Raise Terminated on SIGTERM in the block, so that the replay stops as on Ctrl+C."""
    if threading.current_thread() is not threading.main_thread():
        # Only the main thread may set signal handlers.
        yield
        return

    def interrupt(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Command(BaseCommand):
    help = ("Replay a retailer's transaction log (gzip CSV of the UCI Online Retail data set) "
            "through the order engine: orders, cancellations, stock adjustments, purchase "
            "orders, receipts and pick-ups, then print a report.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="PATH", help="the gzip-compressed CSV file")
        parser.add_argument("--from", dest="start", metavar="DATE",
                            help="first invoice date to replay (YYYY-MM-DD, included)")
        parser.add_argument("--to", dest="end", metavar="DATE",
                            help="last invoice date to replay (YYYY-MM-DD, included)")
        parser.add_argument("--invoices", type=int, metavar="N",
                            help="stop after N invoices")
        parser.add_argument("--report", metavar="FILE.json",
                            help="also write the report as JSON to this file")
        parser.add_argument("--settle-days", type=int, default=0, metavar="DAYS",
                            help="keep buying, receiving and handing over for DAYS days "
                                 "after the last invoice (default 0)")
        parser.add_argument("--no-restamp", action="store_true",
                            help="keep the real clock's timestamps instead of moving them "
                                 "into the simulated year")

    def handle(self, *args, path: str, start: str | None, end: str | None,
               invoices: int | None, report: str | None, settle_days: int, no_restamp: bool,
               **options) -> None:
        source = Path(path)
        if not 0 <= settle_days <= 366:
            raise CommandError(f"--settle-days {settle_days} is invalid; give 0 to 366.")
        if invoices is not None and invoices < 1:
            raise CommandError(f"--invoices {invoices} is invalid; give 1 or more.")
        replay_options = ReplayOptions(
            path=source, start=_date("--from", start) if start is not None else None,
            end=_date("--to", end) if end is not None else None, invoices=invoices,
            progress=options["verbosity"] > 0, restamp=not no_restamp,
            settle_days=settle_days)
        if replay_options.start and replay_options.end \
                and replay_options.start > replay_options.end:
            raise CommandError(f"--from {start} is after --to {end}; give a --from on or "
                               "before the --to date.")
        require_database_ready()
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                # The replay writes hundreds of megabytes. By default SQLite copies its
                # write-ahead log into the database, with an fsync, every 1,000 pages
                # (4 MB). Every 20,000 pages (80 MB) costs far fewer fsyncs, and each
                # commit stays as durable as before.
                cursor.execute("PRAGMA wal_autocheckpoint=20000")
                # SQLite's default page cache is 2 MB, the year's database grows to
                # about 500 MB, and each page read from the file is a system call. 128 MB
                # keeps the pages the replay returns to (items, open orders, indexes).
                cursor.execute("PRAGMA cache_size=-131072")
        with _quiet_notices(), _sigterm_interrupts(), _fewer_collections():
            try:
                # Any replay command records the runs that crashed on this database,
                # before it checks its own files, so that a missing file does not stop
                # the repair.
                recover_unfinished_runs()
                _check_paths(source, Path(report) if report else None)
                result = Replay(replay_options).run()
            except (SourceError, ReplayRejected) as error:
                raise CommandError(str(error)) from None
            except ReplayInterrupted as stop:
                self._report_write(stop.report, report)
                raise CommandError(str(stop), returncode=stop.exit_status) from None
            except KeyboardInterrupt as interrupt:
                raise CommandError(
                    "Interrupted before the replay wrote anything; run it again to replay.",
                    returncode=128 + (signal.SIGTERM if isinstance(interrupt, Terminated)
                                      else signal.SIGINT)) from None
            except (BackroomError, RowInvalid) as error:
                # The run's record and its catalog go in one transaction, which rolled back.
                raise CommandError(f"The replay stopped before its first invoice: {error} "
                                   "Nothing of it was written.") from None
        if not result["invoices"]["distinct"]:
            raise CommandError(
                f"{path} has no invoices from {start or 'its start'} to {end or 'its end'}; "
                "nothing was replayed. Check --from, --to and the file.")
        self._report_write(result, report)

    def _report_write(self, result: dict, report: str | None) -> None:
        """Print the report, and write it to the --report file if one was given."""
        if not result:
            return
        text = json.dumps(result, indent=2)
        self.stdout.write(text)
        if report:
            try:
                Path(report).write_text(text + "\n")
            except OSError as error:
                raise CommandError(f"The report could not be written to {report} ({error}); "
                                   "it is printed above.") from None
