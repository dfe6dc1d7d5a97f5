"""Neutralising text that comes from monitored systems before it reaches a model or a terminal.

Alert, comment, tag and case text can carry characters that change what a person or model reads without
being visible themselves: control characters, Unicode bidirectional overrides (the "Trojan Source" trick)
and the rest of Unicode's default-ignorable code points (zero-width characters, the soft hyphen, the
invisible operators U+2061-2064, the Mongolian vowel separator, variation selectors, Hangul fillers and
the tag characters U+E0000-E0FFF that spell hidden ASCII), which carry invisible prompt injection.
Each is replaced by a visible marker such as <U+202E>; tabs and newlines stay.
"""

from __future__ import annotations

import re
from typing import Any

# Unicode's Default_Ignorable_Code_Point set (DerivedCoreProperties.txt), plus the line and paragraph
# separators U+2028-2029 and the interlinear annotation controls U+FFF9-FFFB.
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x2028, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFFB), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
_CONTROLS = [c for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)) if c not in (0x09, 0x0A, 0x0D)]
_TABLE = {c: f"<U+{c:04X}>" for c in (*_CONTROLS, *(c for low, high in _INVISIBLE_RANGES for c in range(low, high + 1)))}

# What the JSON text of a value shows when the value holds a character of _TABLE: controls come out as
# \u00XX (or \b, \f) escapes, the others as themselves (or as \uXXXX escapes from an ASCII-only encoder).
# A false match (a literal backslash before b, f or u) only costs the slow path.
_RAW = re.compile("[\x7f-\x9f" + "".join(f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in _INVISIBLE_RANGES) + "]")


def json_text_needs_neutralising(text: str) -> bool:
    """Whether the JSON text of a value holds anything `neutralise` would change (C scans only).

    Most results are plain ASCII: then only escapes and a raw DEL can be there, and substring searches
    cost a tenth of the regular expression's scan."""
    if "\\u" in text or "\\b" in text or "\\f" in text:
        return True
    return "\x7f" in text if text.isascii() else _RAW.search(text) is not None


def neutralise(value: Any) -> Any:
    """A copy of `value` with every string (keys included) neutralised."""
    if isinstance(value, str):
        return value.translate(_TABLE)
    if isinstance(value, dict):
        return {neutralise(k) if isinstance(k, str) else k: neutralise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [neutralise(v) for v in value]
    return value
