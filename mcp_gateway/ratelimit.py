"""Per-key rate limits for tool calls, shared by every worker on every host.

The audit log already holds one row per tool call with its key and time, indexed by
(key_public_id, timestamp), so it is the shared counter: a sliding one-minute window is one indexed
count, and enforcing the limit costs no extra write. Calls refused by the limit are not counted, so a
client that keeps knocking is not locked out for longer. Concurrent calls of one key can overshoot the
limit by the number of calls in flight, since a row is written when its call ends.
"""

from __future__ import annotations

import math
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from audit.models import Outcome, PublicApiAccess

WINDOW = timedelta(minutes=1)


def limit_for(tool_name: str, *, read_only_tool: bool) -> int:
    return settings.MCP_WRITE_CALLS_PER_MINUTE if not read_only_tool else settings.MCP_CALLS_PER_MINUTE


def retry_after_seconds(key_public_id: str, tool_name: str, *, read_only_tool: bool) -> int | None:
    """None when the key may call `tool_name` now, else how many seconds until it may."""
    limit = limit_for(tool_name, read_only_tool=read_only_tool)
    if limit <= 0 or not key_public_id:
        return None
    since = timezone.now() - WINDOW
    calls = PublicApiAccess.objects.filter(key_public_id=key_public_id, timestamp__gte=since).exclude(
        outcome=Outcome.RATE_LIMITED
    )
    if not read_only_tool:
        calls = calls.filter(tool=tool_name)
    # Only the limit-th newest call matters: it exists when the budget is spent, and the window frees
    # a slot when it leaves. Fetching one row keeps the check cheap for a busy key.
    nth = list(calls.order_by("-timestamp").values_list("timestamp", flat=True)[limit - 1 : limit])
    if not nth:
        return None
    frees_at = nth[0] + WINDOW
    return max(1, math.ceil((frees_at - timezone.now()).total_seconds()))
