"""Database and static-file steps shared by the `backroom` commands."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.management.commands import collectstatic
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import ngettext


def database_label() -> str:
    """Name the default database for messages, without its password."""
    config = settings.DATABASES[DEFAULT_DB_ALIAS]
    if config["ENGINE"] == "django.db.backends.sqlite3":
        return f"SQLite file {config['NAME']}"
    host = config.get("HOST") or "localhost"
    port = config.get("PORT") or "default port"
    return f"database '{config['NAME']}' on {host} ({port})"


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn a failed connection or query into a command error that names the database."""
    try:
        yield
    except DatabaseError as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CommandError(
            f"A database operation on the {database_label()} failed: {message}. Check "
            "DATABASE_URL (or BACKROOM_HOME for SQLite) and that the database server is "
            "running.") from error


def pending_migrations() -> int:
    """Count the migrations not yet applied to the default database."""
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def require_database_ready() -> None:
    """Raise CommandError unless the database can be reached and has every migration
    applied.

    A missing SQLite file is reported without connecting, since connecting would
    leave an empty file behind.
    """
    config = settings.DATABASES[DEFAULT_DB_ALIAS]
    if config["ENGINE"] == "django.db.backends.sqlite3":
        name = str(config["NAME"])
        if name != ":memory:" and not name.startswith("file:") and not Path(name).exists():
            raise CommandError(
                f"The {database_label()} does not exist, so the store is not set up here. "
                "Run `backroom init` with the same BACKROOM_HOME or DATABASE_URL first.")
    with database_errors():
        pending = pending_migrations()
    if pending:
        migrations = ngettext("%d migration", "%d migrations", pending) % pending
        raise CommandError(
            f"The {database_label()} is not set up or not up to date ({migrations} to "
            "apply). Run `backroom init` with the same BACKROOM_HOME or DATABASE_URL first.")


def static_files_collect() -> int:
    """Copy the apps' static files to STATIC_ROOT for WhiteNoise and count the copied ones."""
    command = collectstatic.Command()
    call_command(command, interactive=False, verbosity=0)
    return len(command.copied_files)
