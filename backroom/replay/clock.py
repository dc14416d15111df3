"""Simulated time for the replay.

The engine stamps rows with the real clock (`timezone.now()`). The replay
runs the year's events in their simulated order, so the real clock only
moves forward while the simulated one does. Before each step the replay
records a mark (real time, simulated time); at the end `restamp` moves every
timestamp written during the run to the simulated time of the last mark
before it, in one UPDATE per column. The engine itself stays unchanged.
"""

import datetime

from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone

from backroom.replay.models import ClockMark, ReplayRun

# Apps whose timestamps the replay moves into the simulated year.
RESTAMPED_APPS = ("core", "catalog", "customers", "sales", "purchasing")
# Timestamps that are not about the store's business.
KEPT_MODELS = {"IdempotencyKey"}
MARK_BATCH = 2000


class SimulatedClock:
    """Collects the marks of one replay run and writes them in batches."""

    def __init__(self, run: ReplayRun) -> None:
        self.run = run
        self.now: datetime.datetime | None = None
        self.first_real: datetime.datetime | None = None
        self._pending: list[ClockMark] = []

    def advance(self, sim_at: datetime.datetime) -> None:
        """Start a step at `sim_at`; rows written from here on belong to it."""
        real = timezone.now()
        if self.first_real is None:
            self.first_real = real
        self.now = sim_at
        self._pending.append(ClockMark(run=self.run, real_at=real, sim_at=sim_at))
        if len(self._pending) >= MARK_BATCH:
            self.flush()

    def flush(self) -> None:
        ClockMark.objects.bulk_create(self._pending, batch_size=500)
        self._pending = []

    def discard(self) -> None:
        """Drop the marks not yet written, those of a batch that rolled back."""
        self._pending = []


def restamped_columns() -> list[tuple[str, str]]:
    """Return (table, column) of every business timestamp the replay moves."""
    columns = []
    for label in RESTAMPED_APPS:
        for model in apps.get_app_config(label).get_models():
            if model.__name__ in KEPT_MODELS or not model._meta.managed:
                continue
            for field in model._meta.concrete_fields:
                if isinstance(field, models.DateTimeField):
                    columns.append((model._meta.db_table, str(field.column)))
    return columns


def restamp(clock: SimulatedClock) -> int:
    """Move the timestamps written since the clock's first mark to simulated time.

    Returns the number of rows changed. Each value maps to the simulated time
    of the latest mark at or before it.
    """
    clock.flush()
    if clock.first_real is None:
        return 0
    return restamp_between(clock.run, clock.first_real, None)


def restamp_between(run: ReplayRun, since: datetime.datetime,
                    until: datetime.datetime | None) -> int:
    """Move the timestamps from `since` to `until`, both included, to the simulated
    time of the run's latest mark at or before each, and return the number of rows
    changed. With `until` None the range has no end.

    NOTE: rows that other connections write in that range move too, because no
    column records which connection wrote a row. docs/replay.md warns about it.
    """
    quote = connection.ops.quote_name
    mark_table = quote(ClockMark._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    changed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for table, column in restamped_columns():
            target = f"{quote(table)}.{quote(column)}"
            bounds, values = f"{target} >= %s", [adapt(since)]
            if until is not None:
                bounds += f" AND {target} <= %s"
                values.append(adapt(until))
            cursor.execute(
                f"UPDATE {quote(table)} SET {quote(column)} = ("
                f"SELECT m.sim_at FROM {mark_table} m WHERE m.run_id = %s "
                f"AND m.real_at <= {target} ORDER BY m.real_at DESC LIMIT 1) "
                f"WHERE {bounds}",
                [run.pk, *values])
            changed += max(cursor.rowcount, 0)
    return changed
