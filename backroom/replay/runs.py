"""The bookkeeping of replay runs: one at a time, ended cleanly, never replayed twice.

Each batch of a run commits its rows, the clock marks that describe them and
the run's progress (`ReplayRun.invoices_committed`, `last_invoice`,
`last_commit_at`) in one transaction. So after any stop, even a kill -9, the
database contains whole invoices, and every row the run committed has its mark.
A run that stops early is recorded as interrupted, with its rows moved into
the simulated year. A run that had no chance to record it (a crash, kill -9)
is recorded by the next replay on the database, which then rejects itself.
"""

import contextlib
import datetime
import fcntl
import logging
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from django.db import DatabaseError, connection, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabaseWrapper
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from backroom.replay.clock import restamp_between
from backroom.replay.models import ReplayRun
from backroom.replay.source import SOURCE_TIME_ZONE

logger = logging.getLogger(__name__)

# The key of the PostgreSQL advisory lock that a running replay holds.
LOCK_KEY = zlib.crc32(b"backroom replay")

OWN_DATABASE = ("replay into a database of its own: set BACKROOM_HOME to a new folder (or "
                "DATABASE_URL to a new database), run `backroom init`, then replay there")


class ReplayRejected(Exception):
    """The store cannot take the replay; nothing of it was written."""


# ------------------------------------------------------------ one run at a time


@contextlib.contextmanager
def replay_lock() -> Iterator[None]:
    """Hold the database's replay lock for the block, or raise ReplayRejected while
    another process holds it.

    PostgreSQL keeps a session advisory lock and SQLite a lock on the file
    `NAME-replay.lock` beside the database, so the lock ends with the process
    that holds it, even on kill -9. An in-memory SQLite database has no lock:
    no other process can reach it.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            (taken,) = cursor.fetchone()
        if not taken:
            raise ReplayRejected(_running_message())
        try:
            yield
        finally:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
            except (DatabaseError, TransactionManagementError):
                # A lost connection or a failed transaction: the lock then ends
                # with the session.
                pass
        return
    path = lock_path()
    if path is None:
        yield
        return
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ReplayRejected(_running_message()) from None
        yield


def lock_path() -> Path | None:
    """Return the lock file of an SQLite database file, or None for other databases."""
    if connection.vendor != "sqlite" or cast(SQLiteDatabaseWrapper, connection).is_in_memory_db():
        return None
    return Path(f"{connection.settings_dict['NAME']}-replay.lock")


def _running_message() -> str:
    run = ReplayRun.objects.filter(finished_at=None, interrupted_at=None).order_by("-pk").first()
    running = f" (run {_describe(run)})" if run is not None else ""
    return (f"Another replay is running on this database{running}; this one wrote nothing. "
            f"Wait for it to end or stop it with Ctrl+C, or {OWN_DATABASE}.")


# ------------------------------------------------------------ runs that ended early


def record_interruption(run: ReplayRun, interruption: str, until: datetime.datetime | None,
                        movable: bool = True) -> ReplayRun:
    """Mark `run` as interrupted and move what it committed into the simulated year.

    Rows stamped from the run's first mark to `until` (no end when None) move
    to the simulated time of their mark, so rows after the run's last mark get
    that mark's time. A run with --no-restamp, or with `movable` off, keeps
    the real clock's dates. Returns the run as stored, with its short report.
    """
    with transaction.atomic():
        run = ReplayRun.objects.select_for_update().get(pk=run.pk)
        first_real = run.marks.order_by("real_at").values_list("real_at", flat=True).first()
        restamped = 0
        if run.restamp and movable and first_real is not None:
            restamped = restamp_between(run, first_real, until)
        run.interrupted_at = timezone.now()
        run.interruption = interruption[:500]
        run.report = interrupted_report(run, restamped)
        run.save(update_fields=["interrupted_at", "interruption", "report"])
    return run


def finish_unfinished_runs() -> None:
    """Record each run that ended without recording how as interrupted, then raise
    ReplayRejected describing what the database holds; return if there is none.

    Call it holding the replay lock, so that no unfinished run is still running.
    Such a run's marks and progress were committed with its rows, so all its
    rows lie from its first mark to its `last_commit_at` and each has a mark.
    A row stamped later is not the run's, and keeps its date. A run recorded
    before the progress fields existed has no `last_commit_at`: its last marks
    may be missing, so its rows keep the real clock's dates.
    """
    found = list(ReplayRun.objects.filter(finished_at=None, interrupted_at=None).order_by("pk"))
    if not found:
        return
    sentences = []
    for run in found:
        logger.info("replay run %s ended without recording it; recording it as interrupted",
                    run.pk)
        if run.last_commit_at is None:
            recorded = record_interruption(run, "ended without recording it or its progress",
                                           None, movable=False)
            sentences.append(
                f"Replay run {_describe(recorded)}, ended without recording it or its "
                "progress, so the rows it committed keep the real clock's dates; it is now "
                "marked interrupted.")
            continue
        recorded = record_interruption(run, "ended without recording it (a crash or kill -9)",
                                       run.last_commit_at)
        sentences.append(
            f"Replay run {_describe(recorded)}, ended without recording it (a crash or "
            f"kill -9). It stopped {stop_description(recorded)}; it is now marked "
            "interrupted.")
    raise ReplayRejected(" ".join(sentences) + " This replay wrote nothing. "
                         + next_steps(found[-1] if len(found) == 1 else None))


def recover_unfinished_runs() -> None:
    """Record the runs that ended without recording how, holding the replay lock for it.

    Raises ReplayRejected as finish_unfinished_runs does, or when another replay
    holds the lock; returns when there is no such run.
    """
    with replay_lock():
        finish_unfinished_runs()


def interrupted_report(run: ReplayRun, restamped: int) -> dict[str, Any]:
    """Return the short report of an interrupted run, from what it committed."""
    return {
        "status": "interrupted",
        "interruption": run.interruption,
        "source": {"file": run.source},
        "invoices": {"selected": run.invoices_selected, "committed": run.invoices_committed,
                     "last": run.last_invoice or None,
                     "last_at": _iso(run.last_invoice_at if run.invoices_committed else None)},
        "simulated": {"first": _iso(run.first_invoice_at if run.invoices_committed else None),
                      "last": _iso(run.last_invoice_at if run.invoices_committed else None)},
        "timing": {"rows_restamped": restamped},
    }


def stop_description(run: ReplayRun) -> str:
    """Describe where an interrupted run stopped and what it left in the database, for a
    message that starts "Interrupted"."""
    dates = ("with dates in the simulated year" if run.restamp
             else "with the real clock's dates, as --no-restamp asked")
    if not run.invoices_committed or run.last_invoice_at is None:
        return (f"before its first invoice; the database holds the replay's catalog and "
                f"opening stock, {dates}")
    return (f"after invoice {run.last_invoice} of {_time(run.last_invoice_at)} "
            f"({run.invoices_committed:,} of {run.invoices_selected:,} invoices); the "
            f"database holds the replay up to there, {dates}")


def next_steps(run: ReplayRun | None) -> str:
    """Say how to go on after an interrupted run, for a message."""
    if run is None or not run.invoices_committed or run.last_invoice_at is None:
        return OWN_DATABASE[0].upper() + OWN_DATABASE[1:] + "."
    day = run.last_invoice_at.astimezone(SOURCE_TIME_ZONE).date()
    return (f"To go on in this database, replay with --from {day + datetime.timedelta(days=1)} "
            f"(the rest of {day} is then left out); to replay the whole selection, "
            f"{OWN_DATABASE}.")


# ------------------------------------------------------------ no invoice twice


def overlap_rejection_reason(first_at: datetime.datetime,
                             last_at: datetime.datetime) -> str | None:
    """Return why a selection from `first_at` to `last_at` would replay invoices that an
    earlier run of this database replayed, or None when it would not."""
    ranges = [(run, run.first_invoice_at, run.last_invoice_at)
              for run in ReplayRun.objects.filter(invoices_committed__gt=0).order_by("pk")
              if run.first_invoice_at is not None and run.last_invoice_at is not None]
    overlapping = [(run, first, last) for run, first, last in ranges
                   if first <= last_at and first_at <= last]
    if not overlapping:
        return None
    run, first, last = overlapping[0]
    latest = max(last for _, _, last in ranges)
    after = latest.astimezone(SOURCE_TIME_ZONE).date() + datetime.timedelta(days=1)
    status = " (interrupted)" if run.interrupted_at else ""
    return (f"Replay run {run.pk}{status} already replayed the invoices from {_time(first)} "
            f"to {_time(last)} into this database; this selection, from {_time(first_at)} to "
            f"{_time(last_at)}, overlaps them and would add them again. Replay with --from "
            f"{after} or later, or {OWN_DATABASE}.")


# ------------------------------------------------------------ wording


def _describe(run: ReplayRun) -> str:
    started = timezone.localtime(run.started_at)
    return f"{run.pk} of {run.source}, started {started:%Y-%m-%d %H:%M %Z}"


def _time(moment: datetime.datetime) -> str:
    """Format an invoice time as the file has it, in UK local time."""
    return f"{moment.astimezone(SOURCE_TIME_ZONE):%Y-%m-%d %H:%M}"


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.astimezone(SOURCE_TIME_ZONE).isoformat() if moment is not None else None
