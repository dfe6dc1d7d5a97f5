"""SQLite writers take turns through a file lock held for exactly the length of a transaction, and
statements are rewritten to SQLite's placeholders once per text."""

from __future__ import annotations

import fcntl
import os

import pytest
from django.db import connection, transaction

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


@pytest.mark.django_db
def test_statements_are_converted_to_sqlite_placeholders_once():
    from stellar_mcp_site.sqlite_backend.base import _qmark_style

    _qmark_style.cache_clear()
    sql = "SELECT %s, '100%%', %s || '%%s'"
    for _ in range(3):
        with connection.cursor() as cursor:
            cursor.execute(sql, [1, "a"])
            assert cursor.fetchone() == (1, "100%", "a%s")
            cursor.execute("SELECT %(x)s", {"x": 2})  # Django's named style keeps its own conversion
            assert cursor.fetchone() == (2,)
    info = _qmark_style.cache_info()
    assert (info.misses, info.hits) == (1, 2)
