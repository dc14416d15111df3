"""The check that commands run before they read or write the store's database."""

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def require_database_ready() -> None:
    """Raise CommandError unless the database exists and has every migration applied."""
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not pending:
        return
    where = settings.DATABASES["default"]["NAME"]
    if connection.vendor == "sqlite":
        where = f"{where} (BACKROOM_HOME is {settings.HOME})"
    raise CommandError(
        f"The database {where} is not set up or not up to date ({len(pending)} migrations "
        "to apply). Run `backroom init` with the same BACKROOM_HOME or DATABASE_URL first.")
