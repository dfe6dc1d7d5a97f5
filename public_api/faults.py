"""Fault injection for tests of the upstream backend: make this instance answer like a struggling platform.

TEST AIDS ONLY. Read from the environment at start-up, all off by default, and never set in production:

- PUBLIC_API_FAULT_STATUS: answer this status (429 or 503, say) instead of serving the call;
- PUBLIC_API_FAULT_EVERY: fault requests 1, 1+N, 1+2N, ... of each worker process (1: every request;
  2: every other one, so a client that retries once always gets through);
- PUBLIC_API_FAULT_DELAY_MS: stall each faulted request this long before answering (a stall alone,
  without a status, still serves the call afterwards);
- PUBLIC_API_FAULT_RETRY_AFTER: the Retry-After seconds sent with a faulted 429/503 (0: no header).

Faults apply after authentication, so a faulted call is still audited with its caller.
"""

from __future__ import annotations

import itertools
import threading
import time

from django.conf import settings

_counter = itertools.count(1)
_lock = threading.Lock()


class InjectedFault(Exception):
    def __init__(self, status: int, retry_after: int) -> None:
        super().__init__(f"Injected fault {status} (PUBLIC_API_FAULT_STATUS test setting).")
        self.status = status
        self.retry_after = retry_after


def enabled() -> bool:
    return bool(settings.PUBLIC_API_FAULT_STATUS or settings.PUBLIC_API_FAULT_DELAY_MS)


def apply() -> None:
    """Stall and/or raise InjectedFault when this request is one of the faulted ones."""
    if not enabled():
        return
    every = max(1, settings.PUBLIC_API_FAULT_EVERY)
    with _lock:
        n = next(_counter)
    if (n - 1) % every:
        return
    if settings.PUBLIC_API_FAULT_DELAY_MS:
        time.sleep(settings.PUBLIC_API_FAULT_DELAY_MS / 1000)
    if settings.PUBLIC_API_FAULT_STATUS:
        raise InjectedFault(settings.PUBLIC_API_FAULT_STATUS, settings.PUBLIC_API_FAULT_RETRY_AFTER)
