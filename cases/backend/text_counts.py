"""How many cases a text of `search` or `name` matches in SQLite's search index, kept while the index
stays as it was.

Counting a common text's matches is most of what such a listCases call costs: FTS5 reads the lists
of every trigram of the text (100,000 cases, "ransomware" in 10,032 of them: 7 ms of the call's 9 ms
in the backend), and every page of the same search counts it again for its `total`. The count of all
the text's matches is kept here, per process, with the index's version token (migration
cases.0007: a new random value with every change of the index, in the transaction that makes it).
A kept count serves while the token reads the same, so it is the count a new one would give.
Elasticsearch's shard request cache keeps counts the same way, dropped at each refresh.

Only the all-tenant count of the index is kept (what count_cases reads for callers who see every
tenant); a range's share of it is still counted in each call.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from .sql import fetch, fetch_value

SEARCH_INDEX = "cases_case_search"
VERSION_TABLE = "cases_case_search_version"
MATCH_COUNT = f"SELECT COUNT(*) FROM (SELECT rowid FROM {SEARCH_INDEX} WHERE {SEARCH_INDEX} MATCH %s)"
_TOKEN = f"SELECT token FROM {VERSION_TABLE}"
# Texts kept per process, the least recently used dropped first (each entry is a few hundred bytes).
KEPT = 256

_counts: OrderedDict[str, tuple[int, int]] = OrderedDict()  # FTS5 expression -> (token, count)
_lock = threading.Lock()


def kept_count(expression: str) -> int | None:
    """The kept count of the cases matching `expression`, if the index has not changed since."""
    with _lock:
        kept = _counts.get(expression)
        if kept is not None:
            _counts.move_to_end(expression)
    if kept is None:
        return None
    token, count = kept
    return count if fetch_value(_TOKEN) == token else None


def match_count(expression: str) -> int:
    """How many cases match `expression` (an FTS5 query of the search index), counted or kept."""
    count = kept_count(expression)
    if count is not None:
        return count
    # The token and the count from one statement: the same state of the index.
    token, count = fetch(f"SELECT ({_TOKEN}), ({MATCH_COUNT})", [expression])[0]
    with _lock:
        _counts[expression] = (token, count)
        _counts.move_to_end(expression)
        while len(_counts) > KEPT:
            _counts.popitem(last=False)
    return count


def forget() -> None:
    """Drop every kept count (the benchmark measures a search's first call with it)."""
    with _lock:
        _counts.clear()
