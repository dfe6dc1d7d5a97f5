"""Per-key rate limits for tool calls, shared by every worker on every host.

The audit log already holds one row per tool call with its key, time, outcome and tool, indexed in that
order (key, time, outcome, tool), so it is the shared counter: a sliding one-minute window is one walk
over index entries, and enforcing the limit costs no extra write. Calls refused by the limit are not
counted, so a client that keeps knocking is not locked out for longer. Concurrent calls of one key can
overshoot the limit by the number of calls in flight, since a row is written when its call ends.

The check runs on every tool call, so its statement is written out once per database rather than built
by the ORM each time (that cost 0.7 ms a call on SQLite, for a key with no recent calls).
"""

from __future__ import annotations

import math
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import connections
from django.utils import timezone

from audit.models import Outcome, PublicApiAccess
from cases.backend.sql import db_datetime
from stellar_mcp_site.db_router import audit_database

WINDOW = timedelta(minutes=1)


def limit_for(tool_name: str, *, read_only_tool: bool) -> int:
    return settings.MCP_WRITE_CALLS_PER_MINUTE if not read_only_tool else settings.MCP_CALLS_PER_MINUTE


@cache
def _nth_latest_call_sql(alias: str, *, per_tool: bool) -> str:
    """The time of the n-th newest counted call of a key in the window (OFFSET n - 1), newest first."""
    qn = connections[alias].ops.quote_name
    time = qn("timestamp")
    tool = f" AND {qn('tool')} = %s" if per_tool else ""
    return (
        f"SELECT {time} FROM {qn(PublicApiAccess._meta.db_table)} "
        f"WHERE {qn('key_public_id')} = %s AND {time} >= %s AND {qn('outcome')} <> %s{tool} "
        f"ORDER BY {time} DESC LIMIT 1 OFFSET %s"
    )


def retry_after_seconds(key_public_id: str, tool_name: str, *, read_only_tool: bool) -> int | None:
    """None when the key may call `tool_name` now, else how many seconds until it may."""
    limit = limit_for(tool_name, read_only_tool=read_only_tool)
    if limit <= 0 or not key_public_id:
        return None
    alias = audit_database()
    connection = connections[alias]
    since = connection.ops.adapt_datetimefield_value(timezone.now() - WINDOW)
    # Only the limit-th newest call matters: it exists when the budget is spent, and the window frees
    # a slot when it leaves. Updates have their own budget, counted over that tool's calls alone.
    params = [key_public_id, since, Outcome.RATE_LIMITED.value, *([] if read_only_tool else [tool_name]), limit - 1]
    with connection.cursor() as cursor:
        cursor.execute(_nth_latest_call_sql(alias, per_tool=not read_only_tool), params)
        row = cursor.fetchone()
    if row is None:
        return None
    frees_at = db_datetime(row[0]) + WINDOW
    return max(1, math.ceil((frees_at - timezone.now()).total_seconds()))
