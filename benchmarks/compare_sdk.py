"""This server next to a reference built with the official MCP Python SDK, on the same machine and data.

Three servers run side by side on loopback, over the same seeded database (the demo data of
benchmarks/out/, or --database-url, e.g. PostgreSQL):

- ours: the product under gunicorn with its own configuration (gthread workers, --workers, default
  2 x cores + 1), /mcp/;
- SDK: benchmarks/reference_server.py, `mcp.server.mcpserver.MCPServer` (stateless, JSON responses,
  streamable HTTP) under uvicorn (--ref-workers, default 1), exposing listCases, getCaseDetail and
  listTenant through the same authentication, argument models, handlers and backend as ours (its
  docstring says what it leaves out: audit, feature switch, rate limit, request log);
- ceiling: a bare Django view (benchmarks/ceiling_settings.py + ceiling_urls.py) under the same
  gunicorn, middleware and settings, that only parses the JSON-RPC body, validates it with mcp-types
  and answers a fixed result: the most our stack can serve.

N client processes (stdlib http.client, one tools/call POST after another, as a stateless client sends
them, on a kept-alive connection: uvicorn and gunicorn's gthread workers both keep it)
run for --seconds at each of --clients (default 1, 8, 32), on the 2025-11-25 wire (--wire modern or
legacy,modern adds the 2026-07-28 one). For listTenant, listCases (default 24-hour window) and
getCaseDetail (all sections) it prints throughput, p50 and p99 for both servers, the CPU time the
server's processes spent per call (the clients share the machine, so this is the cost that does not
depend on them), the ratio ours/SDK and ours/ceiling, then checks the goal (at 8 clients ours >= 1.5x the SDK's throughput, 2x on
listTenant).

Then it breaks our per-call overhead (everything but the backend call) down, measured in this process
as medians over --repeat iterations: authentication, feature switches, rate-limit check, validation
(envelope, mcp-types request validation, argument parsing), audit write, serialisation (neutralising,
text block, mcp-types result serialisation, response JSON), and, when CONN_MAX_AGE is 0 (the SQLite
default), the database connection each request opens and closes (cold page cache included); HTTP is
what remains of the p50 at 1 client. With --profile N it finally runs N requests (listCases and getCaseDetail, alternating)
through the WSGI application in this process under cProfile and prints the top costs; the full
statistics go to benchmarks/out/.

Usage (not part of `make test`; figures depend on the machine and on what else runs on it):

    .venv/bin/python benchmarks/compare_sdk.py [--seconds 10] [--rounds 1] [--clients 1,8,32] [--workers 5]
        [--ref-workers 1] [--wire legacy] [--cases 100000 | --database-url URL] [--repeat 500]
        [--profile 500] [--skip-load] [--ours-env NAME=VALUE ...] [--variant-env NAME=VALUE ...]

--ours-env NAME=VALUE changes our server's environment (and this process's, for the breakdown and
the profile); --variant-env NAME=VALUE runs a second copy of ours with that environment in the same
rounds, as a what-if for a setting, e.g. persistent SQLite connections:
--variant-env DATABASE_URL=sqlite:///$PWD/benchmarks/out/demo-100000.sqlite3?conn_max_age=600

Per-key rate limits are switched off in the servers (one benchmark key makes thousands of calls a
minute, far over the default 600); the cost of the check is measured in the breakdown instead.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    OUT,
    ROOT,
    LoadResult,
    Server,
    benchmark_key,
    best_run,
    database_url,
    django_setup,
    free_port,
    machine_line,
    median_ms,
    prepare_database,
    run_load,
    start_gunicorn,
    start_process,
    tools_call_request,
)

TOOLS = ("listTenant", "listCases", "getCaseDetail")
LABELS = {"listTenant": "listTenant", "listCases": "listCases default window",
          "getCaseDetail": "getCaseDetail all sections"}
GOAL = {"listTenant": 2.0, "listCases": 1.5, "getCaseDetail": 1.5}


def plan_arguments() -> dict[str, dict[str, Any]]:
    from cases.models import Case

    case = Case.objects.filter(size__gte=5).order_by("-created_at").first()
    return {"listTenant": {}, "listCases": {}, "getCaseDetail": {"_id": case.stellar_id}}


# --- servers --------------------------------------------------------------------------------------


def start_servers(args, database: str, ours_env: dict[str, str], logs: Path) -> dict[str, Server]:
    servers: dict[str, Server] = {}
    try:
        servers["ours"] = start_gunicorn("ours", "/mcp/", database=database, workers=args.workers,
                                         extra_env=ours_env, log=logs / "ours.log")
        servers["ceiling"] = start_gunicorn("ceiling", "/ceiling/", database=database, workers=args.workers,
                                            settings_module="benchmarks.ceiling_settings",
                                            log=logs / "ceiling.log")
        if args.variant_env:
            variant = dict(e.split("=", 1) for e in args.variant_env)
            servers["variant"] = start_gunicorn("variant", "/mcp/", database=database, workers=args.workers,
                                                extra_env={**ours_env, **variant}, log=logs / "variant.log")
        port = free_port()
        env = {**os.environ, "DATABASE_URL": database, "DJANGO_SETTINGS_MODULE": "stellar_mcp_site.settings",
               "REFERENCE_SYNC": args.ref_sync, "PYTHONPATH": str(ROOT)}
        argv = [sys.executable, "-m", "uvicorn", "benchmarks.reference_server:app", "--host", "127.0.0.1",
                "--port", str(port), "--workers", str(args.ref_workers), "--log-level", "warning"]
        servers["sdk"] = start_process("sdk", argv, f"http://127.0.0.1:{port}/mcp", env, logs / "sdk.log")
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return servers


def check_answers(servers: dict[str, Server], plan: dict[str, dict], key: str) -> list[str]:
    """One call of each tool on each server: both must succeed, and return the same data."""
    import httpx

    notes = []
    for tool, arguments in plan.items():
        results = {}
        for name in ("ours", "sdk"):
            body, headers = tools_call_request(tool, arguments, key)
            response = httpx.post(servers[name].url, content=body, headers=headers, timeout=30)
            message = response.json() if response.status_code == 200 else {}
            result = message.get("result") or {}
            if response.status_code != 200 or result.get("isError") or "structuredContent" not in result:
                raise RuntimeError(f"{name} {tool}: {response.status_code} {response.text[:500]}")
            results[name] = (result["structuredContent"], len(response.content))
        ours, sdk = results["ours"][0], results["sdk"][0]
        if tool == "listCases":  # the default window moves with the clock between the two calls
            same = ours["cases"] == sdk["cases"] and ours["total"] == sdk["total"]
        else:
            same = ours == sdk
        notes.append(f"{tool}: {'same' if same else 'DIFFERENT'} structuredContent, response "
                     f"{results['ours'][1]:,} bytes (ours) / {results['sdk'][1]:,} bytes (SDK)")
        if not same:
            raise RuntimeError(f"{tool}: the two servers returned different data")
    return notes


# --- load -----------------------------------------------------------------------------------------


def warm_up(servers: dict[str, Server], plan: dict[str, dict], key: str, workers: int) -> None:
    """Every worker of every server answers each request a few times before anything is measured."""
    for tool, arguments in plan.items():
        body, headers = tools_call_request(tool, arguments, key)
        for name in ("ours", "sdk", "variant"):
            if name in servers:
                run_load(servers[name].url, body, headers, workers + 1, 1.5)
    body, headers = tools_call_request("listTenant", {}, key)
    run_load(servers["ceiling"].url, body, headers, workers + 1, 1.5)


def fmt(r: LoadResult | None) -> str:
    if r is None:
        return f"{'':>36}"
    return f"{r.rps:>7.0f} {r.p50:>7.1f} {r.p99:>7.1f} {r.cpu_ms:>6.2f} {r.errors:>4}"


def load(server: Server, body: bytes, headers: dict[str, str], clients: int, seconds: float) -> LoadResult:
    return run_load(server.url, body, headers, clients, seconds, server_pid=server.process.pid)


def best_of(rounds: int, servers: list[Server], body: bytes, headers: dict[str, str], clients: int,
            seconds: float) -> list[LoadResult]:
    """Each server measured `rounds` times, servers alternating within a round; per server its best round
    (see common.best_run)."""
    runs: list[list[LoadResult]] = [[] for _ in servers]
    for _ in range(rounds):
        for i, server in enumerate(servers):
            runs[i].append(load(server, body, headers, clients, seconds))
    return [best_run(results) for results in runs]


def run_comparison(args, servers: dict[str, Server], plan: dict[str, dict], key: str) -> dict:
    clients_list = [int(c) for c in args.clients.split(",")]
    results: dict[tuple, LoadResult] = {}
    for wire in args.wire.split(","):
        rounds = f", best of {args.rounds} rounds" if args.rounds > 1 else ""
        print(f"\n=== wire {wire} ({'2025-11-25' if wire == 'legacy' else '2026-07-28'}), {args.seconds:g} s per run"
              f"{rounds} ===")
        print(f"\n{'ceiling view (no auth, no DB)':34} {'clients':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'CPU ms':>6} {'err':>4} {'load1':>6}")
        for clients in clients_list:
            body, headers = tools_call_request("listTenant", {}, key, wire=wire)
            (r,) = best_of(args.rounds, [servers["ceiling"]], body, headers, clients, args.seconds)
            results[(wire, "ceiling", "", clients)] = r
            print(f"{'ceiling':34} {clients:>7} {fmt(r)} {r.load1:>6.2f}", flush=True)
        print(f"\n{'':34} {'':>7} {'---------------- ours ----------------':>37} "
              f"{'---------------- SDK -----------------':>37} {'ours/':>6} {'ours/':>6}")
        print(f"{'tool':34} {'clients':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms':>6} {'err':>4} "
              f"{'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms':>6} {'err':>4} {'SDK':>6} {'ceil':>6} {'load1':>6}")
        for tool in args.tools.split(","):
            for clients in clients_list:
                body, headers = tools_call_request(tool, plan[tool], key, wire=wire)
                names = ["ours", "sdk", "variant"] if "variant" in servers else ["ours", "sdk"]
                measured = best_of(args.rounds, [servers[n] for n in names], body, headers, clients, args.seconds)
                ours, sdk = measured[0], measured[1]
                results[(wire, "ours", tool, clients)] = ours
                results[(wire, "sdk", tool, clients)] = sdk
                ceiling = results[(wire, "ceiling", "", clients)]
                print(f"{LABELS[tool]:34} {clients:>7} {fmt(ours)} {fmt(sdk)} {ours.rps / sdk.rps:>5.2f}x "
                      f"{ours.rps / ceiling.rps:>5.2f}x {max(ours.load1, sdk.load1):>6.2f}", flush=True)
                checked = [("ours", ours), ("SDK", sdk)]
                if "variant" in servers:
                    v = measured[2]
                    results[(wire, "variant", tool, clients)] = v
                    checked.append(("variant", v))
                    print(f"{'  variant: ' + ' '.join(args.variant_env):34.34} {clients:>7} {fmt(v)} {'':>36} "
                          f"{v.rps / sdk.rps:>5.2f}x {v.rps / ceiling.rps:>5.2f}x {v.load1:>6.2f}", flush=True)
                for name, r in checked:
                    if r.first_error:
                        print(f"    {name} first error: {r.first_error[:300]}")
        if 8 in clients_list:
            print("\ngoal: at 8 clients ours >= 1.5x the SDK's throughput, 2x on listTenant")
            for tool in args.tools.split(","):
                ratio = results[(wire, "ours", tool, 8)].rps / results[(wire, "sdk", tool, 8)].rps
                verdict = "met" if ratio >= GOAL[tool] else "NOT met"
                line = f"  {LABELS[tool]:32} {ratio:5.2f}x (goal {GOAL[tool]:.1f}x): {verdict}"
                if "variant" in servers:
                    v_ratio = results[(wire, "variant", tool, 8)].rps / results[(wire, "sdk", tool, 8)].rps
                    line += f"; variant {v_ratio:5.2f}x: {'met' if v_ratio >= GOAL[tool] else 'NOT met'}"
                print(line)
    return results


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


# --- main -----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000, help="demo cases in the seeded SQLite database")
    parser.add_argument("--database-url", help="use this database instead (seeded when it holds no case)")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure each cell this many times (servers alternating) and keep each server's best "
                             "round: on a shared machine, the least disturbed one")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1,
                        help="gunicorn gthread workers (ours and ceiling; default 2 x cores + 1)")
    parser.add_argument("--ref-workers", type=int, default=1, help="uvicorn workers of the SDK server")
    parser.add_argument("--ref-sync", choices=("thread_sensitive", "threadpool"), default="thread_sensitive",
                        help="how the SDK server runs Django code (see reference_server.py)")
    parser.add_argument("--wire", default="legacy", help="legacy, modern, or legacy,modern")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--repeat", type=int, default=500, help="iterations of each in-process measurement")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile N in-process requests")
    parser.add_argument("--skip-load", action="store_true", help="only the breakdown (and --profile)")
    parser.add_argument("--variant-env", action="append", default=[], metavar="NAME=VALUE",
                        help="also run a variant of our server with this extra environment, measured in the same "
                             "rounds (a what-if for a suggested setting); repeatable")
    parser.add_argument("--ours-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment of our server, to try a setting (e.g. CACHE_URL=..., or "
                             "DATABASE_URL=sqlite:///...?conn_max_age=600); repeatable")
    args = parser.parse_args()

    database = database_url(args.cases, args.database_url)
    prepare_database(args.cases, database)
    ours_env = dict(e.split("=", 1) for e in args.ours_env)
    # The in-process parts and the profile run with our server's settings, experiments included.
    os.environ.update({k: v for k, v in ours_env.items() if k != "DATABASE_URL"})
    django_setup(ours_env.get("DATABASE_URL", database))
    # The request log goes to stderr; keep its cost, drop its output.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115
    from django.db import connection

    key = benchmark_key("compare_sdk")
    plan = plan_arguments()
    print(f"machine: {machine_line()}")
    print(f"database: {connection.vendor} ({database.split('@')[-1]}); ours: gunicorn {args.workers} gthread "
          f"workers; SDK: uvicorn {args.ref_workers} worker(s), {args.ref_sync}; ceiling: gunicorn "
          f"{args.workers} gthread workers")
    if args.ours_env:
        print(f"ours with: {' '.join(args.ours_env)}")

    parts = breakdown(plan, key, args.repeat)
    results: dict = {}
    if not args.skip_load:
        logs = OUT / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        servers = start_servers(args, database, ours_env, logs)
        try:
            for note in check_answers(servers, plan, key):
                print("check: " + note)
            warm_up(servers, plan, key, args.workers)
            results = run_comparison(args, servers, plan, key)
        finally:
            for server in servers.values():
                server.stop()
    ceiling = results.get(("legacy", "ceiling", "", 1))
    print_breakdown(parts, results, ceiling.p50 if ceiling else None)
    if args.profile:
        profile(plan, args.profile)
    print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
