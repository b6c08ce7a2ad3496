"""Django's MySQL backend, starting a transaction with one statement instead of two toggles.

Django opens an ``atomic`` block by turning autocommit off (``SET autocommit=0``) and closes
it by committing and turning autocommit back on (``SET autocommit=1``): two round trips to
the server besides the transaction's own statements and its COMMIT. Here the block starts
with ``START TRANSACTION`` while the session stays in autocommit mode, as Django's SQLite
backend does with ``BEGIN``; after COMMIT or ROLLBACK the server is in autocommit mode
already, so turning it back on sends nothing (the client library skips a mode the server
reports). One round trip less per write: every create, update and delete, each import.

Inside the block Django's own state says "not autocommit", so savepoints, ``on_commit``
and ``select_for_update`` work as before; ``connection.set_autocommit(False)`` called
directly still turns the session's autocommit off.
"""

from django.db.backends.mysql import base
from django.db.backends.utils import debug_transaction


class DatabaseWrapper(base.DatabaseWrapper):
    def _start_transaction_under_autocommit(self):
        # Django calls this instead of _set_autocommit(False) when an atomic block opens.
        # Logged as Django logs its BEGIN (a transaction statement, not a query of the block).
        with debug_transaction(self, "BEGIN"), self.wrap_database_errors:
            self.connection.query("START TRANSACTION")
