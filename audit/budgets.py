"""Per-key call budgets, one per key across every door (/mcp/, /connect/api/), worker and host.

The Activity Log already holds one row per call with its key, time, outcome and endpoint, indexed in that
order, so it is the shared counter: a sliding one-minute window is one walk over index entries, and
enforcing the budget costs no extra write. Only calls made with the key count. A refused authentication
names the key id it presented (anyone can read a key id off a token, a log line or the admin), and a
call refused by the budget itself is not counted either, so a client that keeps knocking is not locked
out for longer and nobody can spend another key's budget. Concurrent calls of one key can overshoot by
the number of calls in flight, since a row is written when its call ends.

Every call counts against MCP_CALLS_PER_MINUTE; a change (the case update, by either door) also
against the stricter MCP_WRITE_CALLS_PER_MINUTE, counted over that endpoint's calls alone.
"""

from __future__ import annotations

import math
from datetime import timedelta

from django.conf import settings
from django.db import connections
from django.utils import timezone

from cases.backend.sql import db_datetime
from stellar_mcp_site.db_router import audit_database
from stellar_mcp_site.sql import Quote, once_per_database

from .models import Outcome, PublicApiAccess

WINDOW = timedelta(minutes=1)
# The Public API endpoints a change goes through; updateCase and addCaseComment mirror them, so both
# doors share one budget of changes.
UPDATE_ENDPOINT = "PUT /connect/api/v1/cases/{id}"
COMMENT_ENDPOINT = "POST /connect/api/v1/cases/{id}/comments"
WRITE_ENDPOINTS = (UPDATE_ENDPOINT, COMMENT_ENDPOINT)
# Outcomes of calls the key did not make, or that the budget refused.
NOT_COUNTED = (Outcome.UNAUTHENTICATED.value, Outcome.RATE_LIMITED.value)


@once_per_database
def _nth_latest_call_sql(qn: Quote, per_endpoint: bool) -> str:
    """The time of the n-th newest counted call of a key in the window (OFFSET n - 1), newest first.
    Written out once per database: the ORM cost 0.7 ms a call to build it."""
    time = qn("timestamp")
    endpoint = f" AND {qn('endpoint')} IN ({', '.join(['%s'] * len(WRITE_ENDPOINTS))})" if per_endpoint else ""
    return (
        f"SELECT {time} FROM {qn(PublicApiAccess._meta.db_table)} "
        f"WHERE {qn('key_public_id')} = %s AND {time} >= %s AND {qn('outcome')} NOT IN (%s, %s){endpoint} "
        f"ORDER BY {time} DESC LIMIT 1 OFFSET %s"
    )


def retry_after_seconds(key_public_id: str, *, write: bool) -> int | None:
    """None when the key may make a call now (a change when `write`), else the seconds until it may."""
    for limit, endpoint in ((settings.MCP_CALLS_PER_MINUTE, None),
                            (settings.MCP_WRITE_CALLS_PER_MINUTE if write else 0, WRITE_ENDPOINTS)):
        wait = _wait(key_public_id, limit, endpoint) if limit > 0 else None
        if wait is not None:
            return wait
    return None


def _wait(key_public_id: str, limit: int, endpoints: tuple[str, ...] | None) -> int | None:
    alias = audit_database()
    connection = connections[alias]
    since = connection.ops.adapt_datetimefield_value(timezone.now() - WINDOW)
    # Only the limit-th newest call matters: it exists when the budget is spent, and the window frees
    # a slot when it leaves.
    params = [key_public_id, since, *NOT_COUNTED, *(endpoints or ()), limit - 1]
    with connection.cursor() as cursor:
        cursor.execute(_nth_latest_call_sql(endpoints is not None, using=alias), params)
        row = cursor.fetchone()
    if row is None:
        return None
    frees_at = db_datetime(row[0]) + WINDOW
    return max(1, math.ceil((frees_at - timezone.now()).total_seconds()))
