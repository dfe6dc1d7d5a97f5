"""Neutralising text that comes from monitored systems before it reaches a model or a terminal.

Alert, comment and case text can carry control characters and Unicode bidirectional overrides
(the "Trojan Source" trick) that make what a person or model reads differ from what is there.
They are replaced by a visible marker such as <U+202E>; tabs and newlines stay.
"""

from __future__ import annotations

import re
from typing import Any

_BIDI_AND_INVISIBLE = [0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029, 0x2060, 0xFEFF,
                       *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_CONTROLS = [c for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)) if c not in (0x09, 0x0A, 0x0D)]
_TABLE = {c: f"<U+{c:04X}>" for c in (*_CONTROLS, *_BIDI_AND_INVISIBLE)}


# What json.dumps(..., ensure_ascii=False) leaves in its text when a value holds a character of
# _TABLE: controls come out as \u00XX (or \b, \f) escapes, the others as themselves. A false match
# (a literal backslash before b, f or u00) only costs the slow path.
_IN_JSON_TEXT = re.compile(
    r"\\u00[01][0-9a-fA-F]|\\[bf]|[\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060\u2066-\u2069\ufeff]"
)


def json_text_needs_neutralising(text: str) -> bool:
    """Whether the JSON text of a value holds anything `neutralise` would change (a cheap C scan).

    Most results are plain ASCII: then only the escapes of controls and a raw DEL can be there, and
    four substring searches cost a tenth of the regular expression's scan."""
    if text.isascii():
        return "\\u00" in text or "\\b" in text or "\\f" in text or "\x7f" in text
    return _IN_JSON_TEXT.search(text) is not None


def neutralise(value: Any) -> Any:
    """A copy of `value` with every string (keys included) neutralised."""
    if isinstance(value, str):
        return value.translate(_TABLE)
    if isinstance(value, dict):
        return {neutralise(k) if isinstance(k, str) else k: neutralise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [neutralise(v) for v in value]
    return value
