"""What SQLite's search index holds for a text of `search` or `name`, kept while the index stays as it
was: the ids of a rare text's cases, or the count of a common one's.

Reading a text's matches costs what FTS5 reads of the lists of each of its trigrams, which grows with
how common those trigrams are rather than with the matches (100,000 cases: 3 ms to find the 230 cases
of "ws-025", whose "-02" and "025" are everywhere; 7 ms to count the 10,032 of "ransomware", 2-4 ms
for the rest of either call). Every page of a search and every narrowing of it by status, severity or
time asks the index the same again. So each process keeps, per text, what it read with the index's
version token (migration cases.0007: a new random value with every change of the index, in the
transaction that makes it), and serves it while the token reads the same: it is then what a new read
would give. Elasticsearch's request cache keeps counts the same way, dropped at each refresh.

A kept count is the all-tenant count of the index, which sqlite_plan.count uses only for callers
who see every tenant; kept ids are narrowed by the caller's scope and filters like read ones.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass

from .sql import fetch

SEARCH_INDEX = "cases_case_search"
VERSION_TABLE = "cases_case_search_version"
# The ids of the cases matching an FTS5 expression; case_sql writes its conditions from these.
MATCHES_OF = f"SELECT rowid FROM {SEARCH_INDEX} WHERE "
MATCHES = f"{MATCHES_OF}{SEARCH_INDEX} MATCH %s"
_TOKEN = f"SELECT token FROM {VERSION_TABLE}"
# Texts kept per process, the least recently used dropped first: at most 256 x 8 KB of ids.
KEPT = 256


@dataclass(frozen=True)
class _Kept:
    token: int
    ids: array | None  # the matching ids, when fewer than the probe's limit (a rare text)
    count: int | None  # how many cases match, once known


_kept: OrderedDict[str, _Kept] = OrderedDict()  # FTS5 expression -> what was read
_lock = threading.Lock()


def _current(expression: str) -> _Kept | None:
    """What is kept for `expression`, if the index has not changed since it was read."""
    with _lock:
        kept = _kept.get(expression)
        if kept is not None:
            _kept.move_to_end(expression)
    if kept is None or fetch(_TOKEN)[0][0] != kept.token:
        return None
    return kept


def _keep(expression: str, kept: _Kept) -> None:
    with _lock:
        _kept[expression] = kept
        _kept.move_to_end(expression)
        while len(_kept) > KEPT:
            _kept.popitem(last=False)


def rare_ids(expression: str, below: int) -> list[int] | None:
    """The ids of the cases matching `expression` (an FTS5 query of the search index) if there are fewer
    than `below`, else None: the text is common. `below` is the same in every call (COMMON_MATCHES)."""
    kept = _current(expression)
    if kept is None or (kept.ids is None and kept.count is not None and kept.count < below):
        # The token and up to `below` matches from one statement: the same state of the index.
        rows = fetch(f"SELECT v.token, m.rowid FROM {VERSION_TABLE} v LEFT JOIN "
                     f"(SELECT DISTINCT * FROM ({MATCHES}) LIMIT %s) m", [expression, below])
        ids = [rowid for _, rowid in rows if rowid is not None]
        rare = len(ids) < below
        kept = _Kept(rows[0][0], array("q", ids) if rare else None, len(ids) if rare else None)
        _keep(expression, kept)
    return list(kept.ids) if kept.ids is not None else None


def match_count(expression: str) -> int:
    """How many cases match `expression`, counted or kept."""
    kept = _current(expression)
    if kept is not None and kept.count is not None:
        return kept.count
    token, count = fetch(f"SELECT ({_TOKEN}), (SELECT COUNT(*) FROM ({MATCHES}))", [expression])[0]
    _keep(expression, _Kept(token, None, count))
    return count


def forget() -> None:
    """Drop everything kept (the benchmark measures a search's first call with it)."""
    with _lock:
        _kept.clear()
