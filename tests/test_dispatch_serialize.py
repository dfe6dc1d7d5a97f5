"""A tool result's payload skips pydantic's walk; the answer stays exactly what the wire types make of it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_gateway import dispatch
from mcp_gateway.registry import to_json_text

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
VERSIONS = ["2025-11-25", "2026-07-28"]


def result_for(version: str, structured: dict) -> dict:
    result = {"content": [{"type": "text", "text": to_json_text(structured)}], "structuredContent": structured,
              "isError": False}
    if version != "2025-11-25":
        result.update({"resultType": "complete", "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "x",
                                                                                                   "version": "1"}}})
    return result


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=60, deadline=None)
@given(structured=st.dictionaries(st.text(max_size=8), JSON, max_size=5))
def test_same_answer_as_the_full_wire_dump(version, structured):
    result = result_for(version, structured)
    assert dispatch.serialize_tool_result(version, result) == dispatch._serialize("tools/call", version, result)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("broken", [{"isError": "not a boolean"}, {"content": [{"type": "text"}]},
                                    {"content": [{"type": "image", "data": "", "mimeType": "image/png"}]}])
def test_a_broken_envelope_meets_the_same_fate(version, broken):
    # Still checked by the wire types: refused, or read as whatever they read it as, like the full dump.
    result = {**result_for(version, {"cases": []}), **broken}
    try:
        expected = dispatch._serialize("tools/call", version, result)
    except Exception as exc:
        with pytest.raises(type(exc)):
            dispatch.serialize_tool_result(version, result)
    else:
        assert dispatch.serialize_tool_result(version, result) == expected
