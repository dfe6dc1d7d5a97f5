"""Make client-supplied values safe to store in the audit log: no secret, bounded size.

Tool arguments come from an AI client and may carry anything, including an API key or an access token
pasted into a text field. Before a value is stored it is redacted (API keys, long token-like strings,
values under secret-sounding names) and bounded (string length, depth, item count, total JSON size).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

REDACTED = "[REDACTED]"
MAX_STRING = 500
MAX_KEY = 100
MAX_DEPTH = 5
MAX_ITEMS = 50
MAX_JSON_BYTES = 4096
# Shorter strings used on a second pass when the first one is still over MAX_JSON_BYTES.
SHRUNK_STRING = 80

# The full API key, whatever follows the prefix.
_API_KEY = re.compile(r"sk-stellar-[A-Za-z0-9_\-.:=+/]*", re.IGNORECASE)
# Runs of characters that make up keys, access tokens, JWTs, signed values and base64 blobs.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_\-.:=+/]{32,}")
# Names whose value is a secret whatever it looks like. Substrings that are unambiguous inside a
# longer name (`accessToken`, `x_api_secret`) ...
_SECRET_NAME_PARTS = ("token", "secret", "password", "passwd", "authorization", "apikey", "credential", "cookie")
# ... and whole words that are too short to match as substrings (`key` would hit `keyword`).
_SECRET_NAME_WORDS = frozenset({"key", "auth", "pwd", "bearer", "signature", "sig", "session"})
_WORD_SPLIT = re.compile(r"[^a-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
# Ids of Stellar objects (hex `_id`, `cust_id`, uuids, numeric `ticket_id`) are the point of an
# audit row; under an id-like name they are kept even when long enough to look like a token.
_ID_VALUE = re.compile(r"[0-9a-fA-F]{1,64}(-[0-9a-fA-F]{1,64}){0,7}")


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    if any(part in lowered for part in _SECRET_NAME_PARTS):
        return True
    words = {w.lower() for w in _WORD_SPLIT.split(name) if w}
    return not words.isdisjoint(_SECRET_NAME_WORDS)


def _is_id_name(name: str) -> bool:
    lowered = name.lower()
    return lowered in {"id", "_id", "ids"} or lowered.endswith(("_id", "_ids", "_uuid", "id", "ids"))


def _looks_like_token(run: str) -> bool:
    # Words glued with separators (`get_case_detail_with_all_the_alerts`) are not secrets; anything
    # mixing digits and letters, or both letter cases, is treated as one.
    has_digit = any(c.isdigit() for c in run)
    has_upper = any(c.isupper() for c in run)
    has_lower = any(c.islower() for c in run)
    return (has_digit and (has_upper or has_lower)) or (has_upper and has_lower)


def _redact_token(match: re.Match[str]) -> str:
    run = match.group(0)
    return REDACTED if _looks_like_token(run) else run


def cut(text: str, limit: int) -> str:
    """`text` at most `limit` characters, with a marker saying how much was cut."""
    if len(text) <= limit:
        return text
    marker = f"…[cut {len(text) - limit} chars]"
    if limit <= len(marker):
        return text[:limit]
    return text[: limit - len(marker)] + marker


def redact_text(text: str, limit: int = MAX_STRING) -> str:
    """A string with keys and token-like runs replaced, then cut to `limit` characters."""
    # PostgreSQL text and jsonb cannot hold U+0000: the row would not be written at all.
    text = text.replace("\x00", "<U+0000>")
    text = _API_KEY.sub(REDACTED, text)
    text = _TOKEN_RUN.sub(_redact_token, text)
    return cut(text, limit)


def redact_id(value: object) -> str:
    """One object id (case, alert, tenant): kept when it has an id's shape, redacted like text otherwise."""
    text = str(value)
    if _ID_VALUE.fullmatch(text):
        return text
    # Ids are stored comma-separated: a comma inside one would split it in two.
    return redact_text(text.replace(",", " "), 64)


def _redact(value: Any, depth: int, string_limit: int, name: str = "") -> Any:
    if name and is_secret_name(name):
        return REDACTED
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON (and the database's JSON check) has no Infinity or NaN
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        if name and _is_id_name(name) and _ID_VALUE.fullmatch(value):
            return value
        return redact_text(value, string_limit)
    if depth >= MAX_DEPTH:
        return "[depth limit]"
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for index, (key, item) in enumerate(value.items()):
            if index >= MAX_ITEMS:
                out["…"] = f"[{len(value) - MAX_ITEMS} more keys cut]"
                break
            safe_key = redact_text(str(key), MAX_KEY)
            out[safe_key] = _redact(item, depth + 1, string_limit, str(key))
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        out_list = [_redact(item, depth + 1, string_limit, name) for item in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            out_list.append(f"[{len(items) - MAX_ITEMS} more items cut]")
        return out_list
    # Anything else (a datetime, a Decimal, an object a buggy caller passed) is stored as its text.
    return redact_text(str(value), string_limit)


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


def redact_value(value: Any, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """A JSON-serialisable copy of `value`, redacted and at most `max_bytes` of JSON."""
    result = _redact(value, 0, MAX_STRING)
    if _json_size(result) <= max_bytes:
        return result
    result = _redact(value, 0, SHRUNK_STRING)
    size = _json_size(result)
    if size <= max_bytes:
        return result
    # Still too big (thousands of short items): keep a readable prefix of the already-redacted JSON.
    # ASCII JSON, and a third of the budget, so that quoting it again cannot overflow.
    preview = cut(json.dumps(result), max_bytes // 3)
    return {"_truncated": True, "_json_bytes": size, "preview": preview}


def redact_arguments(arguments: Any) -> dict[str, Any]:
    """Tool arguments as stored in `PublicApiAccess.arguments`: always a dict."""
    if arguments is None:
        return {}
    if not isinstance(arguments, dict):
        return {"_value": redact_value(arguments, MAX_JSON_BYTES - 20)}
    return redact_value(arguments)
