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
from datetime import UTC, datetime
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
    return connection.ops.quote_name(name)


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


class Where:
    """AND-ed SQL conditions, each with its parameters."""

    def __init__(self, conditions: list[tuple[str, tuple[Any, ...]]] | None = None) -> None:
        self.conditions: list[tuple[str, tuple[Any, ...]]] = conditions if conditions is not None else []

    def add(self, clause: str, *params: Any) -> None:
        self.conditions.append((clause, params))

    def without(self, clause: str) -> Where:
        return Where([c for c in self.conditions if c[0] != clause])

    def sql(self) -> str:
        return " WHERE " + " AND ".join(c for c, _ in self.conditions) if self.conditions else ""

    @property
    def params(self) -> list[Any]:
        return [p for _, params in self.conditions for p in params]
