"""gunicorn settings, overridable from the environment (HOST, PORT, WEB_CONCURRENCY, GUNICORN_*)."""

import gc
import logging
import multiprocessing
import os

# The served process's log lines name no file, line or function, so logging need not walk the stack to
# find them for every record (the logging HOWTO's "Optimization" section): ~2 % of a tool call. Set
# here, not in settings, so tests and manage.py keep them. The workers inherit it when forked.
logging._srcfile = None

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# 2 workers per core plus one; each request is short and CPU-bound or waits on the database.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# gthread rather than sync: the same one-request-at-a-time model (one thread by default), but the
# worker keeps HTTP connections alive between calls, as MCP clients expect. A sync worker closes every
# connection, so each call paid a TCP accept and a new client connection: measured on 2 cores, a
# no-op Django view answered 968 calls/s at 8 clients under sync workers and 1,684 under gthread.
# More threads help only when calls wait on the network (the upstream backend, a remote database).
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = 100
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def when_ready(server: object) -> None:
    # A unix socket means a proxy in front; without trusted hops every client shares its address (the
    # workers say so again on their first such request, stellar_mcp_site/request_meta.py).
    if any(str(b).startswith("unix:") for b in server.cfg.bind) and os.environ.get("TRUSTED_PROXY_HOPS", "0") == "0":
        server.log.warning(
            "Listening on a unix socket with TRUSTED_PROXY_HOPS=0: every client will share the proxy's address in "
            "the Activity Log and the failed-authentication limit. Set TRUSTED_PROXY_HOPS to the number of proxies."
        )


def post_worker_init(worker: object) -> None:
    # Django, pydantic and the tool schemas make ~96,000 objects that live as long as the worker. Frozen,
    # they are left out of every garbage collection: measured with 8 clients on 2 cores, a worker's
    # full collection took 140-220 ms of wall time (every request queued on that worker waited), and
    # about 1 ms once frozen.
    gc.freeze()
