"""Django's PostgreSQL backend, with each transaction begun by its first statement.

psycopg outside autocommit mode sends BEGIN on its own and waits for the
server's reply before it sends the statement that needs the transaction. That
is one round trip per transaction, of about eight per service call in the
flow benchmark. Here the psycopg connection stays in autocommit mode, and
while Django has autocommit off, the first statement sent on an idle
connection goes as "BEGIN; statement" in one message. Commit and rollback
work as before, because psycopg sends COMMIT or ROLLBACK whenever the
server reports an open transaction.
"""

from typing import Any

from django.db.backends.postgresql import base
from psycopg import ClientCursor
from psycopg.pq import TransactionStatus

BEGIN = "BEGIN; "

# Django defines its cursor class by the psycopg version it finds, which the type
# stubs do not follow.
DjangoCursor: Any = base.Cursor
DjangoWrapper: Any = base.DatabaseWrapper


class TransactionCursor(DjangoCursor):
    """A cursor that starts the transaction Django asked for with the statement it sends."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> "TransactionCursor":
        if not _begin_needed(self.connection):
            super().execute(query, params, **kwargs)
            return self
        if not isinstance(query, str):
            # A composed query is sent as it is, after a BEGIN of its own.
            super().execute("BEGIN")
            super().execute(query, params, **kwargs)
            return self
        super().execute(BEGIN + query, params, **kwargs)
        # The first result is that of BEGIN, and the caller reads the statement's.
        self.nextset()
        return self

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
        if _begin_needed(self.connection):
            super().execute("BEGIN")
        super().executemany(query, params_seq, **kwargs)


def _begin_needed(connection: Any) -> bool:
    return bool(getattr(connection, "begin_pending", False)) and (
        connection.info.transaction_status == TransactionStatus.IDLE)


class DatabaseWrapper(DjangoWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        if params.get("cursor_factory") is DjangoCursor:
            params["cursor_factory"] = TransactionCursor
        return params

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
