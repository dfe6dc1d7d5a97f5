"""Hand-written SQL's one helper: statements built once per process and database, from the models' names.

The request path runs a few statements on every call (the key lookup, the switches, the budget, the
audit INSERT, a case lookup). Django's query compilation costs several times those statements (about
0.6 ms an ORM query on 2 cores against ~0.05 ms of SQL), so they are written out once, quoted for the
database they run on, and reused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections

P = ParamSpec("P")
T = TypeVar("T")
Quote = Callable[[str], str]


def once_per_database(build: Callable[Concatenate[Quote, P], T]) -> Callable[P, T]:
    """`build(qn, *args)` runs once per database alias and arguments (`qn` quotes a name for that
    database); the decorated function takes `*args` and an optional `using=` alias."""

    @functools.cache
    def built(using: str, *args: Any) -> T:
        return build(connections[using].ops.quote_name, *args)

    @functools.wraps(build)
    def statement(*args: Any, using: str = DEFAULT_DB_ALIAS) -> T:
        return built(using, *args)

    return statement  # type: ignore[return-value]
