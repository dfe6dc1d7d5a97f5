"""SQLite writers take turns through a file lock held for exactly the length of a transaction."""

from __future__ import annotations

import fcntl
import os

import pytest
from django.db import connection, transaction

from audit.models import PublicApiAccess
from audit.recorder import AccessRecord, record_access

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the writers' lock is SQLite's")


def writers_lock_is_free() -> bool:
    fd = os.open(f"{connection.settings_dict['NAME']}.writers", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


@pytest.mark.django_db(transaction=True)
def test_a_transaction_holds_the_writers_lock_until_it_commits_or_rolls_back():
    assert writers_lock_is_free()
    with transaction.atomic():
        assert not writers_lock_is_free()
        with transaction.atomic():  # a savepoint keeps the turn it is in
            assert not writers_lock_is_free()
        assert not writers_lock_is_free()
    assert writers_lock_is_free()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        assert not writers_lock_is_free()
        1 / 0
    assert writers_lock_is_free()


@pytest.mark.django_db(transaction=True)
def test_an_audit_row_is_written_in_its_turn():
    seen = []

    def observe(execute, sql, params, many, context):
        if sql.startswith("INSERT INTO") and PublicApiAccess._meta.db_table in sql:
            seen.append(writers_lock_is_free())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(observe):
        record_access(AccessRecord(outcome="success", tool="listCases"))
    assert seen == [False] and PublicApiAccess.objects.count() == 1
    assert writers_lock_is_free()
