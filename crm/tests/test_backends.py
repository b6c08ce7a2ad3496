"""The MySQL backend (crm/backends/mysql): an atomic block opens with START TRANSACTION.

Each test runs outside the test's own transaction (``transaction=True``): the backend's work
is the outermost block, which a test inside a transaction only ever sees as savepoints. The
server's own counters say which statements a block sent; a second connection says what the
block made visible, and when.
"""

import MySQLdb
import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError

pytestmark = [pytest.mark.mysql, pytest.mark.django_db(transaction=True)]

COUNTERS = ("Com_begin", "Com_commit", "Com_rollback", "Com_set_option")


def _counters() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SHOW SESSION STATUS WHERE Variable_name IN (%s, %s, %s, %s)", COUNTERS)
        return {name: int(value) for name, value in cursor.fetchall()}


def _sent(before: dict[str, int]) -> dict[str, int]:
    # SHOW STATUS itself is neither a transaction statement nor a SET.
    after = _counters()
    return {name: after[name] - before[name] for name in COUNTERS}


def _other_connection_sees(name: str) -> bool:
    db = settings.DATABASES["default"]
    other = MySQLdb.connect(
        host=db["HOST"],
        port=int(db["PORT"]),
        user=db["USER"],
        password=db["PASSWORD"],
        database=connection.settings_dict["NAME"],
    )
    try:
        cursor = other.cursor()
        cursor.execute("SELECT COUNT(*) FROM auth_group WHERE name = %s", [name])
        return cursor.fetchone()[0] == 1
    finally:
        other.close()


def test_a_write_block_sends_start_transaction_and_commit_and_no_autocommit_toggle():
    """One START TRANSACTION, one COMMIT, no SET autocommit: Django's own backend sends two
    SETs (off, then on again) and no BEGIN."""
    # given
    connection.ensure_connection()
    before = _counters()
    # when
    with transaction.atomic():
        Group.objects.create(name="opened-once")
    # then
    assert _sent(before) == {"Com_begin": 1, "Com_commit": 1, "Com_rollback": 0, "Com_set_option": 0}
    assert _other_connection_sees("opened-once")


def test_the_block_is_one_transaction_until_its_commit():
    """Rows written in the block are invisible to another connection until the block ends."""
    # when
    with transaction.atomic():
        Group.objects.create(name="first")
        Group.objects.create(name="second")
        seen_inside = _other_connection_sees("first"), _other_connection_sees("second")
    # then
    assert seen_inside == (False, False)
    assert (_other_connection_sees("first"), _other_connection_sees("second")) == (True, True)


def test_an_error_rolls_the_block_back_and_later_statements_commit_on_their_own():
    """An exception undoes every write of the block; the next statement outside a block is
    committed at once (the session is in autocommit mode again)."""
    # given
    before = _counters()
    # when
    with pytest.raises(RuntimeError), transaction.atomic():
        Group.objects.create(name="undone")
        raise RuntimeError("stop")
    Group.objects.create(name="autocommitted")
    # then
    assert _sent(before) == {"Com_begin": 1, "Com_commit": 0, "Com_rollback": 1, "Com_set_option": 0}
    assert not Group.objects.filter(name="undone").exists()
    assert _other_connection_sees("autocommitted")


def test_a_savepoint_rolled_back_keeps_the_outer_blocks_writes():
    """A nested block that fails takes back its own writes only."""
    # when
    with transaction.atomic():
        Group.objects.create(name="outer")
        with pytest.raises(RuntimeError), transaction.atomic():
            Group.objects.create(name="inner")
            raise RuntimeError("stop")
    # then
    assert sorted(Group.objects.values_list("name", flat=True)) == ["outer"]


def test_on_commit_runs_after_the_commit_and_select_for_update_is_checked_as_before():
    """on_commit callbacks run once the data is committed; select_for_update is allowed in a
    block and refused outside one, as with Django's backend."""
    # given
    seen_at_commit = []
    # when
    with transaction.atomic():
        group = Group.objects.create(name="locked")
        assert list(Group.objects.select_for_update().filter(pk=group.pk)) == [group]
        transaction.on_commit(lambda: seen_at_commit.append(_other_connection_sees("locked")))
    # then
    assert seen_at_commit == [True]
    with pytest.raises(TransactionManagementError):
        list(Group.objects.select_for_update().all())


def test_set_autocommit_false_still_turns_the_sessions_autocommit_off():
    """Code that manages a transaction by hand gets what it asks for."""
    try:
        # when
        transaction.set_autocommit(False)
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@autocommit")
            (autocommit,) = cursor.fetchone()
        Group.objects.create(name="by-hand")
        seen_before_commit = _other_connection_sees("by-hand")
        transaction.commit()
    finally:
        transaction.set_autocommit(True)
    # then
    assert (autocommit, seen_before_commit) == (0, False)
    assert _other_connection_sees("by-hand")
