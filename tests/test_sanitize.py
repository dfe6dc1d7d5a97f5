"""The fast check that decides whether a tool result needs neutralising misses no character."""

from __future__ import annotations

import json

from mcp_gateway.sanitize import _TABLE, json_text_needs_neutralising, neutralise


def test_every_neutralised_character_is_seen_in_the_json_text():
    for code in _TABLE:
        value = {"k": f"a{chr(code)}b", f"key{chr(code)}": 1}
        assert json_text_needs_neutralising(json.dumps(value, ensure_ascii=False)), hex(code)
        assert not json_text_needs_neutralising(json.dumps(neutralise(value), ensure_ascii=False))


def test_ordinary_text_takes_the_fast_path():
    value = {"name": "Ransomware on WS-042 — Müller's laptop", "note": "line\nnext\ttab", "n": [1, 2.5, None]}
    assert not json_text_needs_neutralising(json.dumps(value, ensure_ascii=False))
