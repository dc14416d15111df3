import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backroom.core.errors import BackroomError, PermissionDenied
from backroom.core.management.database import database_errors, require_database_ready
from backroom.replay.imports import KINDS, ImportResult, import_file, same_header
from backroom.replay.users import acting_user


class ImportFailed(Exception):
    """An error that ends the import with nothing written, with a code and a field for
    --json."""

    def __init__(self, message: str, *, code: str, field: str | None = None,
                 line: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.line = line

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "line": self.line,
                "message": str(self)}


class Command(BaseCommand):
    help = ("Import items, vendors or customers from a CSV file: new records are created, "
            "existing ones (same SKU, vendor code, customer id or e-mail) updated.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(KINDS), help="what the file holds")
        parser.add_argument("file", metavar="FILE.csv", help="CSV file with a header row")
        parser.add_argument("--dry-run", action="store_true",
                            help="check every row and print the summary, write nothing")
        parser.add_argument("--skip-invalid", action="store_true",
                            help="write the valid rows even when some rows are invalid")
        parser.add_argument("--column", action="append", default=[], metavar="FIELD=HEADER",
                            help="read FIELD from the column named HEADER (repeatable)")
        parser.add_argument("--user", help="the active user the import acts as (default: the "
                                           "oldest active owner account)")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="print the summary and every problem, or the error that "
                                 "stopped the import, as JSON")

    def handle(self, *args, kind: str, file: str, dry_run: bool, skip_invalid: bool,
               column: list[str], user: str | None, as_json: bool, **options) -> None:
        try:
            overrides = _overrides(column)
            result = self._import(kind, file, dry_run=dry_run, skip_invalid=skip_invalid,
                                  overrides=overrides, username=user,
                                  progress=options["verbosity"] > 0 and not as_json)
        except ImportFailed as error:
            if as_json:
                self.stdout.write(json.dumps({"kind": kind, "dry_run": dry_run,
                                              "written": False, "error": error.as_dict()},
                                             indent=2))
            raise CommandError(str(error)) from None
        if as_json:
            self.stdout.write(json.dumps({**result.as_dict(), "error": None}, indent=2))
        else:
            self._print(result, overrides)
        # A dry run with --skip-invalid shows what a real one would load: not a failure.
        if result.rejected and not result.written and not (dry_run and skip_invalid):
            verb = "is" if result.rejected == 1 else "are"
            raise CommandError(
                f"{result.rejected} of {_count(result.rows, 'row')} {verb} invalid; nothing "
                "was written. Fix the file, or pass --skip-invalid to load the valid rows.")

    def _import(self, kind: str, file: str, *, dry_run: bool, skip_invalid: bool,
                overrides: dict[str, str], username: str | None,
                progress: bool) -> ImportResult:
        """Run the import and return its result; raise ImportFailed when it fails as a
        whole."""
        path = Path(file)
        if not path.exists():
            raise ImportFailed(f"File {file} not found; check the path.", code="not_found",
                               field="file")
        if not path.is_file():
            raise ImportFailed(f"{file} is not a file; give the path of a CSV file.",
                               code="validation_error", field="file")
        try:
            require_database_ready()
        except CommandError as error:
            raise ImportFailed(str(error), code="database_error") from None
        with _database_failures():
            account = _acting_account(username, kind)
            try:
                return import_file(user=account, kind_name=kind, path=path, dry_run=dry_run,
                                   skip_invalid=skip_invalid, column_overrides=overrides,
                                   progress=progress)
            except PermissionDenied as error:
                raise ImportFailed(
                    f"User '{account.username}' lacks the '{error.data['permission']}' "
                    f"permission needed to import {kind}; pass --user with an owner's or "
                    "manager's account.", code=error.code, field="user") from None
            except BackroomError as error:
                raise ImportFailed(error.detail, code=error.code, field=error.field,
                                   line=error.data.get("line")) from None

    def _print(self, result: ImportResult, overrides: dict[str, str]) -> None:
        for header in result.ignored_columns:
            column = KINDS[result.kind].column_for(header)
            if column is not None and column.name in overrides:
                reason = (f"--column reads the field '{column.name}' from "
                          f"'{overrides[column.name]}'")
            else:
                reason = f"it matches no {result.kind} field"
            self.stdout.write(f"column '{header}' ignored: {reason}")
        # Every problem, however many, so that one pass over the list fixes the whole file.
        for problem in result.problems:
            self.stdout.write(f"row {problem.row}, {problem.field}: {problem.message} "
                              f"[{problem.code}]")
        self.stdout.write(summary(result))


def summary(result: ImportResult) -> str:
    """Describe what the import did, or would have done when it wrote nothing.

    The counts of rows not written read "would be created" and "would be updated",
    so that no one takes them for records in the database.
    """
    if result.written:
        created, updated = "created", "updated"
        changed = result.created + result.updated > 0
        if not changed:
            outcome = "nothing changed"
        elif result.rejected:
            outcome = "valid rows written"
        else:
            outcome = "written"
        if result.rejected:
            outcome += ", rejected rows skipped"
    else:
        created, updated = "would be created", "would be updated"
        outcome = "dry run, nothing written" if result.dry_run else "nothing written"
    return (f"{result.kind}: {_count(result.rows, 'row')}, {result.created} {created}, "
            f"{result.updated} {updated}, {result.unchanged} unchanged, "
            f"{result.rejected} rejected ({outcome})")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _overrides(pairs: list[str]) -> dict[str, str]:
    """Parse the --column FIELD=HEADER pairs into a dict. A FIELD may repeat only with the
    same HEADER."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        field, separator, header = pair.partition("=")
        field, header = field.strip(), header.strip()
        if not separator or not field or not header:
            raise ImportFailed(f"--column '{pair}' is invalid; write it as FIELD=HEADER.",
                               code="validation_error", field="columns")
        earlier = overrides.setdefault(field, header)
        if not same_header(earlier, header):
            raise ImportFailed(
                f"--column gives the field '{field}' twice, from the columns '{earlier}' and "
                f"'{header}'; give the field once, with the column to read it from.",
                code="validation_error", field="columns")
    return overrides


def _acting_account(username: str | None, kind: str) -> User:
    """Return the user the import acts as; raise ImportFailed when it is missing or
    deactivated."""
    try:
        account = acting_user(username)
    except BackroomError as error:
        raise ImportFailed(error.detail, code=error.code, field="user") from None
    if not account.is_active:
        needed = "an active owner's or manager's account" if KINDS[kind].permission \
            else "an active account"
        raise ImportFailed(
            f"User '{account.username}' is deactivated, so the import cannot act as it. Pass "
            f"--user with {needed}, or have an owner activate '{account.username}' on the "
            "Users screen.", code="inactive_user", field="user")
    return account


@contextmanager
def _database_failures() -> Iterator[None]:
    """Turn a failed connection or query into ImportFailed, naming the database."""
    try:
        with database_errors():
            yield
    except CommandError as error:
        raise ImportFailed(str(error), code="database_error") from None
