"""Hand-written SQL for the embedded backend's hot reads, on SQLite and PostgreSQL alike.

Why not the ORM here: on the calls an AI client makes most (a page of cases, a case with its
sections), Django spent five to twenty times the CPU of the SQL itself building the query and
converting the rows (measured on SQLite, 100,000 cases: a default-window count costs 0.36 ms in
SQLite and about 1.5 ms through `QuerySet.count()`). The statements are short, use the same indexes
the ORM's did, and read rows as tuples; `Row` dicts keep the column names the serializers expect.

Only values travel as parameters; identifiers come from the models' metadata, never from a caller.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Model

from cases.models import (
    Activity,
    Alert,
    Case,
    CaseTag,
    Comment,
    Observable,
    ScoreHistory,
)
from tenants.models import Tenant

Row = dict[str, Any]


def qn(name: str) -> str:
    return connection.ops.quote_name(name)  # the statements of this module are built at import, once


def table(model: type[Model]) -> str:
    return qn(model._meta.db_table)


CASES, TENANTS, USERS, TAGS = table(Case), table(Tenant), table(get_user_model()), table(CaseTag)
ALERTS, COMMENTS, ACTIVITIES = table(Alert), table(Comment), table(Activity)
OBSERVABLES, SCORES = table(Observable), table(ScoreHistory)


def postgres() -> bool:
    return connection.vendor == "postgresql"


# --- values in and out ------------------------------------------------------------------------


def db_datetime(value: Any) -> datetime | None:
    """A timestamp column as an aware UTC datetime. Through Django's SQLite connection it arrives
    naive (UTC; Django's converter parses the declared type), as text from a bare expression, and
    aware from psycopg."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def db_json(value: Any) -> Any:
    """A JSON column's value: both drivers return its text (Django registers a text loader for jsonb)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def param_datetime(value: datetime) -> Any:
    """A datetime as the database compares it (SQLite: Django's naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def like_contains(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with %, _ and \\ in it taken literally."""
    return f"%{connection.ops.prep_for_like_query(text)}%"


# LIKE's escape character: SQLite has none by default, PostgreSQL's is the backslash.
LIKE_ESCAPE = "" if connection.vendor == "postgresql" else " ESCAPE '\\'"


def placeholders(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


# --- running statements -----------------------------------------------------------------------


def fetch(sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return cursor.fetchall()


def fetch_value(sql: str, params: Iterable[Any] = ()) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        row = cursor.fetchone()
    return row[0] if row else None


def rows_as_dicts(names: Sequence[str], rows: Iterable[Sequence[Any]], *, datetimes: Iterable[str] = (),
                  jsons: Iterable[str] = ()) -> list[Row]:
    """Tuples to dicts keyed by `names`, with the named timestamp and JSON columns decoded."""
    out = [dict(zip(names, row)) for row in rows]
    for row in out:
        for name in datetimes:
            row[name] = db_datetime(row[name])
        for name in jsons:
            row[name] = db_json(row[name])
    return out


class Kind(Enum):
    """What a condition selects, which is all a planner needs to know of it (sqlite_plan.py)."""

    SCOPE = "scope"  # the caller's tenants
    TENANT = "tenant"  # tenants the query names
    COLUMN = "column"  # status, severity, assignee, score: columns the cases' indexes hold
    TAGS = "tags"  # the cases carrying any of some tags: listed by the tags' own index
    TEXT = "text"  # a text of `search` or `name` through SQLite's FTS5 index: listed by that index
    LIKE = "like"  # a text matched by LIKE (PostgreSQL's trigram indexes; short texts on SQLite)
    TIME = "time"  # a bound of created_at or modified_at
    IDS = "ids"  # an explicit list of case ids
    NOTHING = "nothing"  # no row can match
    OTHER = "other"  # anything else (the Public API's ticket and score bounds, other tables' filters)


@dataclass(frozen=True)
class Condition:
    """One AND-ed SQL condition with its parameters. `hidden` writes it behind unary +, which keeps SQLite
    from using an index for it (the row is still tested). A TEXT or TAGS condition also carries the
    subquery that lists its cases (`listing`, with the same parameters); a TIME condition its column and
    operator."""

    kind: Kind
    sql: str
    params: tuple[Any, ...] = ()
    hidden: bool = False
    listing: str = ""
    column: str = ""
    op: str = ""

    @property
    def text(self) -> str:
        return f"+{self.sql}" if self.hidden else self.sql


NOTHING = Condition(Kind.NOTHING, "1 = 0")


class Where:
    """AND-ed conditions."""

    def __init__(self, conditions: Iterable[Condition] = ()) -> None:
        self.conditions: list[Condition] = list(conditions)

    def add(self, sql: str, *params: Any, kind: Kind = Kind.OTHER, **details: str) -> None:
        self.conditions.append(Condition(kind, sql, params, **details))

    def sql(self) -> str:
        return " WHERE " + " AND ".join(c.text for c in self.conditions) if self.conditions else ""

    @property
    def params(self) -> list[Any]:
        return [p for c in self.conditions for p in c.params]

    def __add__(self, other: Where) -> Where:
        return Where([*self.conditions, *other.conditions])

    def of(self, *kinds: Kind) -> list[Condition]:
        return [c for c in self.conditions if c.kind in kinds]

    def hiding(self, *kinds: Kind) -> Where:
        """The same conditions, those of `kinds` hidden from SQLite's planner."""
        return Where([replace(c, hidden=True) if c.kind in kinds else c for c in self.conditions])
