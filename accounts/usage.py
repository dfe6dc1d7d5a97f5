"""How many calls each key made lately, as the Activity Log counts them. The audit app, which depends on
this one and not the reverse, provides the count when Django loads it (audit/apps.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

CallCounter = Callable[[Sequence[str], timedelta], dict[str, int]]
_counter: CallCounter | None = None


def provide(counter: CallCounter) -> None:
    global _counter
    _counter = counter


def calls_in_last_day(public_ids: Sequence[str]) -> dict[str, int]:
    """Calls made with each key in the last 24 hours (refused authentications not counted), by key id."""
    if _counter is None or not public_ids:
        return {}
    return _counter(public_ids, timedelta(days=1))
