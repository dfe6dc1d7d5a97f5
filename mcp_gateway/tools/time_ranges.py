"""Times as a model writes them, made exact: epoch milliseconds, an ISO 8601 date or date-time, or a
duration ending now. Turning a date into UTC epoch milliseconds is the conversion models most often get
wrong, so they need not: the server does it, and echoes the result in both forms."""

from __future__ import annotations

import re
from datetime import datetime, timezone

MIN_EPOCH_MS = 100_000_000_000  # 1973: anything smaller is almost surely seconds
MAX_EPOCH_MS = 32_503_680_000_000  # year 3000
DAY_MS = 24 * 3600 * 1000
UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": DAY_MS, "w": 7 * DAY_MS}
MAX_DURATION_MS = 520 * UNIT_MS["w"]  # ten years
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DURATION = re.compile(r"(\d{1,6})([mhdw])")

BOUND_FORMS = ("epoch milliseconds (1764547200000), an ISO 8601 date (2026-12-01: the whole UTC day) or an ISO "
               "8601 date-time with Z or an offset (2026-12-01T08:00:00Z, 2026-12-01T10:00:00+02:00)")
DURATION_FORMS = "a number and a unit ending now: 90m, 24h, 7d or 4w (minutes, hours, days, weeks)"


def bound_ms(value: int | str, *, end: bool, name: str) -> int:
    """Epoch milliseconds of a range bound; a date alone is its whole UTC day (its start for a lower
    bound, its last millisecond for an upper one). ValueError names the accepted forms."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a time: {BOUND_FORMS}")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int):
        if not 0 <= value <= MAX_EPOCH_MS:
            raise ValueError(f"{name} is out of range: give {BOUND_FORMS}")
        if value < MIN_EPOCH_MS:
            raise ValueError(f"{name} looks like seconds: give epoch milliseconds (seconds × 1000), or {BOUND_FORMS}")
        return value
    text = value.strip()
    whole_day = bool(_DATE.fullmatch(text))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} {text[:40]!r} is not a time this server reads: give {BOUND_FORMS}") from None
    if whole_day:
        moment = moment.replace(tzinfo=timezone.utc)
    elif moment.tzinfo is None:
        raise ValueError(f"{name} {text[:40]!r} has no time zone, so it is ambiguous: add Z for UTC or an offset "
                         f"such as +02:00 ({BOUND_FORMS})")
    try:
        ms = round(moment.timestamp() * 1000) + (DAY_MS - 1 if whole_day and end else 0)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{name} is out of range: give {BOUND_FORMS}") from None
    if not MIN_EPOCH_MS <= ms <= MAX_EPOCH_MS:
        raise ValueError(f"{name} is out of range: give {BOUND_FORMS}")
    return ms


def duration_ms(value: str, *, name: str) -> int:
    """The length of a duration such as 90m, 24h, 7d or 4w, at most ten years."""
    match = _DURATION.fullmatch(value.strip().lower())
    if match is None:
        raise ValueError(f"{name} {value[:40]!r} is not a duration: give {DURATION_FORMS}")
    ms = int(match[1]) * UNIT_MS[match[2]]
    if not UNIT_MS["m"] <= ms <= MAX_DURATION_MS:
        raise ValueError(f"{name} must be from 1m to 520w (ten years): give {DURATION_FORMS}")
    return ms


def iso(ms: int) -> str:
    """The UTC ISO 8601 form of epoch milliseconds, e.g. 2026-12-01T08:00:00.000Z."""
    moment = datetime.fromtimestamp(ms // 1000, tz=timezone.utc).replace(microsecond=(ms % 1000) * 1000)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
