"""Helpers shared by the HTTP benchmarks: the seeded database, Django setup, servers and load clients.

- `prepare_database` seeds the demo data once (SQLite file in benchmarks/out/, or any DATABASE_URL);
- `django_setup` points this process at it;
- `start_gunicorn` / `start_process` run a server on a free loopback port until `stop` is called;
- `run_load` drives it with N client processes (stdlib http.client, one POST per call, keep-alive whenever the
  server keeps the connection open) for a fixed time and returns throughput and latency percentiles.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LEGACY_VERSION = "2025-11-25"
MODERN_VERSION = "2026-07-28"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def median_ms(fn: Callable[[], Any], repeat: int, warmup: int = 20) -> float:
    """Median wall time of `fn()` in milliseconds over `repeat` calls (after `warmup` unmeasured ones)."""
    for _ in range(warmup):
        fn()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def database_url(cases: int, url: str | None = None, db: Path | None = None) -> str:
    """The DATABASE_URL a benchmark uses: the given one, or the seeded SQLite file for `cases`."""
    if url:
        return url
    return f"sqlite:///{db or OUT / f'demo-{cases}.sqlite3'}"


def prepare_database(cases: int, url: str) -> None:
    """Migrate (every run: a kept file gets new migrations) and seed `cases` demo cases once. A SQLite
    file that exists is taken as seeded; another database is seeded when it holds no case yet."""
    env = {**os.environ, "DATABASE_URL": url, "DEMO_ADMIN_PASSWORD": "bench-admin-password",
           "DEMO_ANALYST_PASSWORD": "bench-analyst-password"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if path.exists():
            subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "createcachetable"], cwd=ROOT, env=env, check=True)
    probe = subprocess.run(
        [*manage, "shell", "-c", "from cases.models import Case; print(Case.objects.exists())"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )
    if probe.stdout.strip().endswith("True"):
        return
    print(f"seeding {cases} cases into {url} (once) ...", flush=True)
    subprocess.run([*manage, "seed_demo", "--cases", str(cases), "-v0"], cwd=ROOT, env=env, check=True)


def django_setup(url: str, settings_module: str = "stellar_mcp_site.settings") -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    import django

    django.setup()


def benchmark_key(name: str = "benchmark") -> str:
    """A fresh API key (default scope) of the demo root user soc-admin, as a client would hold it."""
    from django.contrib.auth import get_user_model

    from accounts.services import api_key_create

    user = get_user_model().objects.get(username="soc-admin")
    _, key = api_key_create(user=user, name=name)
    return key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_process(name: str, argv: list[str], url: str, env: dict[str, str], log: Path | None = None) -> Server:
    """Start a server and wait until its port accepts connections (and a moment for its other workers)."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 (kept open for the child)
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(name, url, process)
    port = int(url.split("/", 3)[2].rsplit(":", 1)[1])
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} (log: {log})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            time.sleep(2)  # every worker imports Django; the first to listen is not the last to be ready
            return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} did not start (log: {log})")


def start_gunicorn(name: str, url_path: str, *, database: str, workers: int,
                   settings_module: str = "stellar_mcp_site.settings", extra_env: dict[str, str] | None = None,
                   log: Path | None = None) -> Server:
    """gunicorn with the product's configuration (gthread workers) on a free loopback port.

    Per-key rate limits are off unless `extra_env` sets them: one benchmark key makes thousands of calls
    a minute, far over the default budget of 600.
    """
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database, "HOST": "127.0.0.1", "PORT": str(port),
           "WEB_CONCURRENCY": str(workers), "DJANGO_SETTINGS_MODULE": settings_module,
           "MCP_CALLS_PER_MINUTE": "0", "MCP_WRITE_CALLS_PER_MINUTE": "0", **(extra_env or {})}
    argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "stellar_mcp_site/gunicorn.conf.py"),
            "stellar_mcp_site.wsgi"]
    return start_process(name, argv, f"http://127.0.0.1:{port}{url_path}", env, log)


# --- load -----------------------------------------------------------------------------------------


def tools_call_request(tool: str, arguments: dict, key: str, *, wire: str = "legacy",
                       rpc_id: int = 1) -> tuple[bytes, dict[str, str]]:
    """Body and headers of one tools/call POST, as a stateless client sends it on either protocol era."""
    params: dict[str, Any] = {"name": tool, "arguments": arguments}
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
               "Accept": "application/json, text/event-stream"}
    if wire == "modern":
        params["_meta"] = {"io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
                           "io.modelcontextprotocol/clientCapabilities": {}}
        headers.update({"MCP-Protocol-Version": MODERN_VERSION, "Mcp-Method": "tools/call", "Mcp-Name": tool})
    else:
        headers["MCP-Protocol-Version"] = LEGACY_VERSION
    body = json.dumps({"jsonrpc": "2.0", "id": rpc_id, "method": "tools/call", "params": params}).encode()
    return body, headers


def response_ok(status: int, content: bytes, *, full: bool) -> bool:
    """A 200 carrying a JSON-RPC result that is not a tool error. `full` parses the JSON; otherwise a
    byte search (the client's CPU is the servers' CPU on a small machine, and a 25 KB parse is not free)."""
    if status != 200:
        return False
    if full:
        message = json.loads(content)
        return "result" in message and not message["result"].get("isError")
    head = content[:80]
    return b'"result"' in head and b'"isError":true' not in content and b'"isError": true' not in content


class _Http:
    """One keep-alive HTTP/1.1 connection from the stdlib client, reopened when the server closes it.

    The load clients share the machine with the servers they measure: httpx spends about 1.5 ms of CPU
    per request here, as much as a whole no-op request costs the server, while http.client spends a
    tenth of that. A cheaper client leaves the cores to the servers, where the benchmark looks."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path or "/"
        self.conn: http.client.HTTPConnection | None = None

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request("POST", self.path, body=body, headers=headers)
                response = self.conn.getresponse()
                content = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed meanwhile: retry once on a new one.
                self.close()
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self.close()
            return response.status, content
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _client_loop(url: str, body: bytes, headers: dict[str, str], start_at: float, seconds: float, queue) -> None:
    latencies: list[float] = []
    errors = 0
    first_error = ""
    http = _Http(url)
    for _ in range(3):  # warm-up, fully checked: connection, server-side caches
        status, content = http.post(body, headers)
        if not response_ok(status, content, full=True):
            errors += 1
            first_error = first_error or f"{status} {content[:300]!r}"
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = time.perf_counter() + seconds
    while True:
        started = time.perf_counter()
        if started >= deadline:
            break
        try:
            status, content = http.post(body, headers)
            ok = response_ok(status, content, full=False)
        except (OSError, http.client.HTTPException) as exc:
            ok, status, content = False, 0, b""
            first_error = first_error or repr(exc)
            http.close()
        latencies.append((time.perf_counter() - started) * 1000)
        if not ok:
            errors += 1
            if status:
                first_error = first_error or f"{status} {content[:300]!r}"
    http.close()
    queue.put((latencies, errors, first_error))


@dataclass
class LoadResult:
    rps: float
    p50: float
    p99: float
    n: int
    errors: int
    first_error: str
    load1: float  # 1-minute load average when the run ended
    cpu_ms: float  # CPU time of the server's processes per answered call (nan when not measured)
    machine_cpu_ms: float  # CPU time of the whole machine (clients, server, database) per answered call


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) used so far by a process and its descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except (OSError, IndexError, ValueError):
            continue
    return total


def machine_cpu() -> float:
    """CPU seconds the whole machine has been busy so far, all cores (user, nice, system, irq, softirq)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def run_load(url: str, body: bytes, headers: dict[str, str], clients: int, seconds: float,
             server_pid: int | None = None) -> LoadResult:
    """`clients` processes POST the same request back to back for `seconds`, all starting together.

    With `server_pid`, the CPU time the server's process tree spends during the timed window is divided
    by the calls answered in it: a cost per call that does not depend on how busy the clients keep the
    machine. The whole machine's busy time per call (clients, server and database together) is taken
    over the same window: N clients calling back to back on C cores answer at most C / that cost calls a
    second, so their mean latency cannot fall below N x that cost / C."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    start_at = time.time() + 1.0 + 0.05 * clients
    procs = [ctx.Process(target=_client_loop, args=(url, body, headers, start_at, seconds, queue))
             for _ in range(clients)]
    for p in procs:
        p.start()
    cpu = machine = float("nan")
    if server_pid is not None:
        time.sleep(max(0.0, start_at - time.time()))
        before, machine_before = process_tree_cpu(server_pid), machine_cpu()
        time.sleep(max(0.0, start_at + seconds - time.time()))
        cpu, machine = process_tree_cpu(server_pid) - before, machine_cpu() - machine_before
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    latencies = [x for lat, _, _ in results for x in lat]
    return LoadResult(
        rps=len(latencies) / seconds, p50=percentile(latencies, 0.5), p99=percentile(latencies, 0.99),
        n=len(latencies), errors=sum(e for _, e, _ in results),
        first_error=next((f for _, _, f in results if f), ""), load1=os.getloadavg()[0],
        cpu_ms=cpu * 1000 / len(latencies) if latencies else float("nan"),
        machine_cpu_ms=machine * 1000 / len(latencies) if latencies else float("nan"),
    )


def best_run(results: list[LoadResult]) -> LoadResult:
    """The run with the highest throughput, carrying the errors of every run. Other work on the machine
    only ever slows a run down, so the best run is the one it disturbed least."""
    best = max(results, key=lambda r: r.rps)
    best.errors = sum(r.errors for r in results)
    best.first_error = next((r.first_error for r in results if r.first_error), "")
    return best


def machine_line() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores ({model}), Python {sys.version.split()[0]}, load average {load}"
