"""The fast check that decides whether a tool result needs neutralising misses no character."""

from __future__ import annotations

import json

import pytest

from mcp_gateway.registry import to_json_text
from mcp_gateway.sanitize import _TABLE, json_text_needs_neutralising, neutralise

ENCODERS = {
    "product": to_json_text,  # what the gateway writes into the text block (orjson)
    "stdlib": lambda value: json.dumps(value, ensure_ascii=False),
}


@pytest.mark.parametrize("encode", ENCODERS.values(), ids=ENCODERS.keys())
def test_every_neutralised_character_is_seen_in_the_json_text(encode):
    for code in _TABLE:
        for value in ({"k": f"a{chr(code)}b", f"key{chr(code)}": 1}, {"k": f"plain ascii {chr(code)}"}):
            assert json_text_needs_neutralising(encode(value)), hex(code)
            assert not json_text_needs_neutralising(encode(neutralise(value)))


@pytest.mark.parametrize("encode", ENCODERS.values(), ids=ENCODERS.keys())
def test_ordinary_text_takes_the_fast_path(encode):
    for value in (
        {"name": "Ransomware on WS-042 — Müller's laptop", "note": "line\nnext\ttab", "n": [1, 2.5, None]},
        {"name": "Ransomware on WS-042", "note": "line\nnext\ttab\r", "path": "C:\\Users\\x", "n": [1, 2.5]},
    ):
        assert not json_text_needs_neutralising(encode(value))
