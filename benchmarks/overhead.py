"""The in-process parts of compare_sdk.py: our per-call overhead broken down, and a cProfile of requests
through the WSGI application (see compare_sdk.py's docstring for what each measures)."""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time

from benchmarks.common import OUT, ROOT, benchmark_key, median_ms, tools_call_request

LABELS = {"listTenant": "listTenant", "listCases": "listCases default window",
          "getCaseDetail": "getCaseDetail all sections"}

# --- overhead breakdown ---------------------------------------------------------------------------


def breakdown(plan: dict[str, dict], key: str, repeat: int) -> dict[str, dict[str, float]]:
    """Median ms of each in-process part of one tools/call of ours, per tool."""
    from mcp_types import methods as wire

    from accounts.authentication import authenticate_bearer
    from audit.budgets import retry_after_seconds
    from audit.recorder import AccessRecord, record_access
    from features import switches as features
    from mcp_gateway import jsonwire, sanitize
    from mcp_gateway.dispatch import serialize_tool_result
    from mcp_gateway.envelope import parse_envelope
    from mcp_gateway.registry import ToolContext, registry, to_json_text
    from mcp_gateway.sanitize import neutralise

    needs_neutralising = getattr(sanitize, "json_text_needs_neutralising", None)

    from django.db import connection

    principal = authenticate_bearer(f"Bearer {key}", client_ip="127.0.0.1")
    out: dict[str, dict[str, float]] = {}
    for tool_name, arguments in plan.items():
        tool = registry.get(tool_name)
        body, _ = tools_call_request(tool_name, arguments, key)
        envelope = parse_envelope(body)
        params = envelope.params
        args = tool.parse_arguments(arguments)
        ctx = ToolContext(principal=principal, request_id="bench", ai_summary_enabled=True)
        structured = neutralise(tool.handler(ctx, args))
        result = {"content": [{"type": "text", "text": to_json_text(structured)}], "structuredContent": structured,
                  "isError": False}
        serialised = wire.serialize_server_result("tools/call", "2025-11-25", result)
        rows: dict[str, float] = {}

        def handler() -> None:
            tool.handler(ToolContext(principal=principal, request_id="bench", ai_summary_enabled=True), args)

        rows["backend call (handler)"] = median_ms(handler, repeat)
        rows["authentication"] = median_ms(lambda: authenticate_bearer(f"Bearer {key}", client_ip="127.0.0.1"),
                                           repeat)
        rows["feature switches"] = median_ms(features.current, repeat)
        rows["validation: JSON body + envelope"] = median_ms(lambda: parse_envelope(body), repeat)
        rows["validation: mcp-types request"] = median_ms(
            lambda: wire.validate_client_request("tools/call", "2025-11-25", params), repeat)
        rows["validation: tool arguments"] = median_ms(lambda: tool.parse_arguments(arguments), repeat)
        raw = tool.handler(ToolContext(principal=principal, request_id="bench", ai_summary_enabled=True), args)
        raw_text = to_json_text(raw)
        if needs_neutralising is None:  # every result is walked
            rows["serialisation: neutralise text"] = median_ms(lambda: neutralise(raw), repeat)
        elif needs_neutralising(raw_text):  # the scan, then the walk and a second text
            rows["serialisation: neutralise text"] = median_ms(
                lambda: (needs_neutralising(raw_text), to_json_text(neutralise(raw))), repeat)
        else:  # the scan finds nothing to change
            rows["serialisation: neutralise text"] = median_ms(lambda: needs_neutralising(raw_text), repeat)
        rows["serialisation: text block JSON"] = median_ms(lambda: to_json_text(structured), repeat)
        rows["serialisation: mcp-types result"] = median_ms(
            lambda: serialize_tool_result("2025-11-25", result), repeat)
        rows["serialisation: response JSON"] = median_ms(
            lambda: jsonwire.dumps({"jsonrpc": "2.0", "id": 1, "result": serialised}), repeat)
        record = AccessRecord(
            outcome="success", user=principal.user, api_key=principal.api_key,
            key_public_id=principal.api_key.public_id, endpoint=tool.endpoint, tool=tool_name, arguments=arguments,
            tenant_ids=sorted(ctx.tenant_ids), case_ids=sorted(ctx.case_ids), alert_ids=sorted(ctx.alert_ids),
            http_status=200, duration_ms=3.2, client_ip="127.0.0.1", user_agent="python-httpx/0.28.1",
            protocol_version="2025-11-25", request_id="0" * 32, source="MCP",
        )
        rows["audit write"] = median_ms(lambda: record_access(record), repeat)
        rows["per-request DB connection"] = 0.0
        if not connection.settings_dict["CONN_MAX_AGE"]:
            # Django closes a connection at the end of every request when CONN_MAX_AGE is 0 (the SQLite
            # default here): the next request opens one (PRAGMAs included) with a cold page cache.
            def handler_and_audit() -> None:
                handler()
                record_access(record)

            def fresh_connection() -> None:
                handler_and_audit()
                connection.close()

            rows["per-request DB connection"] = max(
                0.0, median_ms(fresh_connection, min(repeat, 200)) - median_ms(handler_and_audit, min(repeat, 200)))
        # The audit rows just written are this key's calls of the last minute: a busy key.
        busy = principal.api_key.public_id
        rows["rate-limit check (idle key)"] = median_ms(
            lambda: retry_after_seconds("idlekey0000", write=False), repeat)
        rows["rate-limit check (busy key)"] = median_ms(
            lambda: retry_after_seconds(busy, write=False), min(repeat, 100))
        out[tool_name] = rows
    return out


def print_breakdown(parts: dict[str, dict[str, float]], results: dict, ceiling_p50: float | None) -> None:
    tools = list(parts)
    print("\n=== our overhead per call, ms (in-process medians; HTTP = p50 at 1 client minus the rest) ===\n")
    print(f"{'part':40} " + " ".join(f"{LABELS[t][:16]:>16}" for t in tools))
    groups = [
        ("authentication", ["authentication"]),
        ("validation", ["validation: JSON body + envelope", "validation: mcp-types request",
                        "validation: tool arguments"]),
        ("audit write", ["audit write"]),
        ("serialisation", ["serialisation: neutralise text", "serialisation: text block JSON",
                           "serialisation: mcp-types result", "serialisation: response JSON"]),
        ("feature switches (DB read)", ["feature switches"]),
        ("DB connection per request (open/close)", ["per-request DB connection"]),
    ]
    total_overhead = {t: 0.0 for t in tools}
    for title, names in groups:
        values = {t: sum(parts[t][n] for n in names) for t in tools}
        for t in tools:
            total_overhead[t] += values[t]
        print(f"{title:40} " + " ".join(f"{values[t]:>16.3f}" for t in tools))
        if len(names) > 1:
            for n in names:
                print(f"{'  ' + n.split(': ', 1)[1]:40} " + " ".join(f"{parts[t][n]:>16.3f}" for t in tools))
    p50 = {t: results.get(("legacy", "ours", t, 1)) for t in tools}
    http = {t: (p50[t].p50 - total_overhead[t] - parts[t]["backend call (handler)"]) if p50[t] else float("nan")
            for t in tools}
    print(f"{'HTTP (gunicorn, Django, client)':40} " + " ".join(f"{http[t]:>16.3f}" for t in tools))
    print(f"{'= overhead (all but the backend call)':40} "
          + " ".join(f"{total_overhead[t] + http[t]:>16.3f}" for t in tools))
    print(f"{'backend call (handler)':40} " + " ".join(f"{parts[t]['backend call (handler)']:>16.3f}" for t in tools))
    print(f"{'p50 at 1 client over HTTP':40} " + " ".join(
        f"{p50[t].p50 if p50[t] else float('nan'):>16.3f}" for t in tools))
    print(f"{'(not on the path: rate limits are off)':40}")
    for n in ("rate-limit check (idle key)", "rate-limit check (busy key)"):
        print(f"{'  ' + n:40} " + " ".join(f"{parts[t][n]:>16.3f}" for t in tools))
    if ceiling_p50 is not None:
        print(f"\nceiling view p50 at 1 client (HTTP + Django + mcp-types, nothing else): {ceiling_p50:.3f} ms")


# --- profile --------------------------------------------------------------------------------------

# Where a request's time goes, as (label, file suffix, function name) of cProfile entries (cumulative).
PROFILE_SPOTS = [
    ("whole request (WSGIHandler.__call__)", "django/core/handlers/wsgi.py", "__call__"),
    ("  RequestLogMiddleware (all inside it)", "audit/middleware.py", "__call__"),
    ("  mcp_endpoint", "mcp_gateway/views.py", "mcp_endpoint"),
    ("    authenticate_bearer", "accounts/authentication.py", "authenticate_bearer"),
    ("      key lookup + digest + tenants", "accounts/authentication.py", "_resolve"),
    ("    features.current", "features/switches.py", "current"),
    ("    parse_envelope", "mcp_gateway/envelope.py", "parse_envelope"),
    ("    dispatch", "mcp_gateway/dispatch.py", "dispatch"),
    ("      mcp-types request validation", "mcp_gateway/dispatch.py", "_validate_params"),
    ("      rate-limit check", "audit/budgets.py", "retry_after_seconds"),
    ("      argument parsing", "mcp_gateway/registry.py", "parse_arguments"),
    ("      listCases handler", "mcp_gateway/tools/list_cases.py", "list_cases"),
    ("      getCaseDetail handler", "mcp_gateway/tools/case_detail.py", "get_case_detail"),
    ("      neutralise (scan)", "mcp_gateway/sanitize.py", "json_text_needs_neutralising"),
    ("      neutralise (walk)", "mcp_gateway/sanitize.py", "neutralise"),
    ("      text block JSON", "mcp_gateway/registry.py", "to_json_text"),
    ("      mcp-types result serialisation", "mcp_gateway/dispatch.py", "_serialize"),
    ("    response JSON", "mcp_gateway/views.py", "json_response"),
    ("    audit row (record_call)", "mcp_gateway/audit_bridge.py", "record_call"),
    ("      INSERT", "audit/recorder.py", "_insert"),
    ("  open DB connection (per request)", "django/db/backends/base/base.py", "connect"),
    ("  close DB connection", "django/db/backends/base/base.py", "close"),
    ("  SQL execute (all queries)", "django/db/backends/utils.py", "execute"),
    ("  ORM SQL compile (all queries)", "django/db/models/sql/compiler.py", "as_sql"),
    ("  logging (emit)", "logging/__init__.py", "handle"),
]


CALLS_PER_PROFILE_KEY = 50


def profile(plan: dict[str, dict], n: int) -> None:
    """`n` requests through the WSGI application gunicorn runs, under cProfile. Rate limits are on (the
    settings' budget); a fresh key every 50 calls keeps each one a typical, not a saturated, caller."""
    from django.core.handlers.wsgi import WSGIHandler

    app = WSGIHandler()
    keys = [benchmark_key(f"compare_sdk-profile-{i}") for i in range((20 + 2 * n) // CALLS_PER_PROFILE_KEY + 1)]
    requests = [[tools_call_request(t, plan[t], key) for t in ("listCases", "getCaseDetail")] for key in keys]
    counter = iter(range(10**9))

    def one(i: int) -> None:
        body, headers = requests[next(counter) // CALLS_PER_PROFILE_KEY][i % 2]
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/mcp/", "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
            "HTTP_HOST": "127.0.0.1:8000", "HTTP_USER_AGENT": "python-httpx/0.28.1",
            **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if k != "Content-Type"},
        }
        status = []
        response = app(environ, lambda s, h, exc_info=None: status.append(s))
        content = b"".join(response)
        response.close()
        if not status[0].startswith("200") or b'"isError":true' in content:
            raise RuntimeError(f"profile request failed: {status[0]} {content[:300]!r}")

    for i in range(20):
        one(i)
    started = time.perf_counter()
    for i in range(n):
        one(i)
    plain_ms = (time.perf_counter() - started) * 1000 / n
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(n):
        one(i)
    profiler.disable()
    OUT.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(OUT / "compare_sdk.pstats")
    stats = pstats.Stats(profiler)
    total = stats.total_tt * 1000 / n

    print(f"\n=== profile: {n} in-process requests through the WSGI app (listCases and getCaseDetail "
          f"alternating) ===")
    print(f"{plain_ms:.3f} ms per request without the profiler, {total:.3f} ms under cProfile "
          f"(the profiler inflates small calls; read the shares)\n")
    print(f"{'where (cumulative, per request)':44} {'ms':>8} {'share':>6} {'calls/req':>9}")
    for label, suffix, func in PROFILE_SPOTS:
        ct, calls = 0.0, 0
        for (filename, _, name), (cc, nc, tt, cum, callers) in stats.stats.items():  # type: ignore[attr-defined]
            if name == func and filename.replace("\\", "/").endswith(suffix):
                ct += cum
                calls += nc
        if calls:
            print(f"{label:44} {ct * 1000 / n:>8.3f} {ct * 1000 / n / total:>6.0%} {calls / n:>9.1f}")
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(25)
    print("\ntop 25 by own time:")
    lines = buffer.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    for line in lines[start:]:
        if line.strip():
            print("  " + line.replace(str(ROOT) + "/", "").replace(sys.prefix + "/lib/python3.11/site-packages/", ""))
    print(f"\nfull statistics: {OUT / 'compare_sdk.pstats'} (python -m pstats)")


