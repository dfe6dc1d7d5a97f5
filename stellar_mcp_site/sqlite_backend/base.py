"""Django's SQLite backend, with writers taking turns through a file lock, and its SQL conversions cached.

Several gunicorn workers write to one SQLite file (updateCase, an audit row per call). When the write
lock is taken, SQLite's busy handler sleeps 1, 2, 5, 10, ... up to 100 ms between attempts, however
soon the lock is freed: under 8 concurrent writers updateCase's p99 reached 634 ms. Here a transaction
first takes an exclusive `flock` on `<database>.writers` (a waiter takes it at most 2 ms after it is
freed), and only then runs `BEGIN IMMEDIATE`, which then finds SQLite's lock free. Readers never take it (WAL lets them
run beside the writer). Statements outside a transaction (a read's audit INSERT) do not take turns:
for them SQLite's busy handler still applies.

Waiting is bounded by the busy timeout: past it the transaction goes ahead and SQLite's own timeout
decides, so a stuck process cannot hang the others for longer than before.

Django rewrites every statement's `%s` placeholders into SQLite's `?` with a regular expression, on
every execution. A tool call runs the same few statements each time, so the rewritten text is kept.
"""

from __future__ import annotations

import fcntl
import os
import time
from functools import lru_cache

from django.db.backends.sqlite3 import base


@lru_cache(maxsize=1024)
def _qmark_style(query: str) -> str:
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class CursorWrapper(base.SQLiteCursorWrapper):
    def convert_query(self, query: str, *, param_names: list[str] | None = None) -> str:
        if param_names is None:
            return _qmark_style(query)
        return super().convert_query(query, param_names=param_names)


class DatabaseWrapper(base.DatabaseWrapper):
    _writer_lock_fd: int | None = None
    _holds_writer_lock = False

    def create_cursor(self, name: str | None = None) -> CursorWrapper:
        return self.connection.cursor(factory=CursorWrapper)

    def _writer_lock_path(self) -> str | None:
        name = str(self.settings_dict.get("NAME") or "")
        return None if not name or self.is_in_memory_db() else f"{name}.writers"

    def _take_writer_turn(self) -> None:
        path = self._writer_lock_path()
        if path is None:
            return
        if self._writer_lock_fd is None:
            self._writer_lock_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        pause = 0.0001
        while True:
            try:
                fcntl.flock(self._writer_lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._holds_writer_lock = True
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return  # let SQLite's busy timeout answer
                # Polled rather than blocking, so the wait can end at the timeout; a waiter is at most
                # 2 ms late, against SQLite's pauses of up to 100 ms.
                time.sleep(pause)
                pause = min(pause * 2, 0.002)

    def _end_writer_turn(self) -> None:
        if self._holds_writer_lock and self._writer_lock_fd is not None:
            fcntl.flock(self._writer_lock_fd, fcntl.LOCK_UN)
        self._holds_writer_lock = False

    def _start_transaction_under_autocommit(self) -> None:
        self._take_writer_turn()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._end_writer_turn()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._end_writer_turn()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._end_writer_turn()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._end_writer_turn()
            if self._writer_lock_fd is not None:
                os.close(self._writer_lock_fd)
                self._writer_lock_fd = None
