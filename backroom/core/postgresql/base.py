"""Django's PostgreSQL backend, with each transaction begun by its first statement.

psycopg outside autocommit mode sends BEGIN on its own and waits for the
server's reply before it sends the statement that needs the transaction. That
is one round trip per transaction, of about eight per service call in the
flow benchmark. Here the psycopg connection stays in autocommit mode, and
while Django has autocommit off, the first statement sent on an idle
connection goes as "BEGIN; statement" in one message. Commit and rollback
work as before, because psycopg sends COMMIT or ROLLBACK whenever the
server reports an open transaction.

Writes that `writes_together` holds back can also wait on the connection
(`writes_hold`) for the next statement or the commit, and go in its message.
A rollback drops them.
"""

from typing import Any

from django.db.backends.postgresql import base
from psycopg import ClientCursor, IsolationLevel
from psycopg.pq import TransactionStatus

# Django defines its cursor classes by the psycopg version it finds, which the type
# stubs do not follow.
django_backend: Any = base
DjangoCursor: Any = base.Cursor
DjangoWrapper: Any = base.DatabaseWrapper


class TransactionCursor(DjangoCursor):
    """A cursor that starts the transaction Django requested with the statement it sends."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> "TransactionCursor":
        first, first_params = _statements_before(self.connection)
        if not first:
            super().execute(query, params, **kwargs)
            return self
        if not isinstance(query, str) or not isinstance(params, list | tuple | None):
            # A composed query, or one with named parameters, goes in a message of its own.
            super().execute("; ".join(first), first_params or None)
            super().execute(query, params, **kwargs)
            return self
        if params is None and first_params:
            # Without parameters a query's percent signs are literal, so they are escaped
            # once parameters go with it.
            query, params = query.replace("%", "%%"), ()
        super().execute("; ".join([*first, query]),
                        [*first_params, *params] if first_params else params, **kwargs)
        # The first results are those of the statements put before, and the caller reads
        # the query's.
        for _ in first:
            self.nextset()
        return self

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
        _statements_send(self.connection)
        super().executemany(query, params_seq, **kwargs)


def _statements_before(connection: Any) -> tuple[list[str], list[Any]]:
    """Return the statements to send before the next one, and their parameters: the
    BEGIN of a transaction Django requested, then the held writes, which it removes from
    the connection."""
    statements: list[str] = []
    if getattr(connection, "begin_pending", False) and (
            connection.info.transaction_status == TransactionStatus.IDLE):
        statements.append(_begin_statement(connection))
    writes = getattr(connection, "held_writes", None)
    if not writes:
        return statements, []
    connection.held_writes = None
    statements.extend(text for text, _ in writes)
    return statements, [value for _, params in writes for value in params]


def _begin_statement(connection: Any) -> str:
    """Return the BEGIN that psycopg would send, with the connection's isolation level and
    access mode if they are set."""
    parts = ["BEGIN"]
    if connection.isolation_level is not None:
        level = IsolationLevel(connection.isolation_level)
        parts.append("ISOLATION LEVEL " + level.name.replace("_", " "))
    if connection.read_only is not None:
        parts.append("READ ONLY" if connection.read_only else "READ WRITE")
    return " ".join(parts)


def _statements_send(connection: Any) -> None:
    """Send the statements due before the next one, in a message of their own."""
    first, params = _statements_before(connection)
    if first:
        with ClientCursor(connection) as cursor:
            cursor.execute("; ".join(first), params or None)


class DatabaseWrapper(DjangoWrapper):
    """Django's PostgreSQL connection, with transactions begun by their first statement."""

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        if params.get("cursor_factory") is DjangoCursor:
            params["cursor_factory"] = TransactionCursor
        return params

    def create_cursor(self, name: str | None = None) -> Any:
        connection = self.connection
        if name is None or not getattr(connection, "begin_pending", False):
            return super().create_cursor(name)
        # A named cursor (`QuerySet.iterator()`) sends its DECLARE itself. Inside a
        # transaction it lives in it, WITHOUT HOLD, as with Django's own backend, and a
        # FOR UPDATE query keeps its locks.
        _statements_send(connection)
        cursor = django_backend.ServerSideCursor(connection, name=name, scrollable=False,
                                                 withhold=False)
        loader = connection.adapters.get_loader(django_backend.TIMESTAMPTZ_OID,
                                                django_backend.Format.TEXT)
        if self.timezone != loader.timezone:
            django_backend.register_tzloader(self.timezone, cursor)
        return cursor

    def writes_hold(self, sql: str, params: list[Any]) -> bool:
        """Keep a write to send with the next statement or the commit of the transaction.

        Return False, having kept nothing, outside a transaction or where this
        backend does not start transactions itself.
        """
        connection = self.connection
        if connection is None or not self.in_atomic_block or not getattr(
                connection, "begin_pending", False):
            return False
        writes = getattr(connection, "held_writes", None) or []
        writes.append((sql, params))
        connection.held_writes = writes
        return True

    def _commit(self) -> None:
        connection = self.connection
        if connection is not None and getattr(connection, "held_writes", None):
            # The held writes and COMMIT go in one message. If a write fails, the server
            # skips the COMMIT, and Django rolls the transaction back.
            with self.wrap_database_errors, connection.cursor() as cursor:
                cursor.execute("COMMIT")
        super()._commit()

    def _rollback(self) -> None:
        if self.connection is not None:
            self.connection.held_writes = None
        super()._rollback()

    def _savepoint_rollback(self, sid: str) -> None:
        # Any statement since the savepoint, the SAVEPOINT itself included, sent the
        # writes held before it. So the ones still held came after it and roll back.
        if self.connection is not None:
            self.connection.held_writes = None
        super()._savepoint_rollback(sid)

    def _set_autocommit(self, autocommit: bool) -> None:
        connection = self.connection
        if not issubclass(connection.cursor_factory, TransactionCursor):
            super()._set_autocommit(autocommit)
            return
        with self.wrap_database_errors:
            if not connection.autocommit:
                connection.autocommit = True
            connection.begin_pending = not autocommit


# Two statements go in one message only with the bindings made on the client, as
# Django's cursor makes them unless the option server_side_binding is set.
assert issubclass(base.Cursor, ClientCursor)
