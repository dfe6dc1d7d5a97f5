"""What the upstream backend remembers between calls, per process: access tokens per credential, and the
tenant of each case it has read."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

# A token is renewed this long before its `exp`, so a call never goes out with one about to lapse.
REFRESH_MARGIN_SECONDS = 45


@dataclass(frozen=True)
class Token:
    value: str
    exp: float


class TokenCache:
    """Access tokens per credential id, renewed before expiry, one exchange at a time per credential."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, credential_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(credential_id, threading.Lock())

    def get(self, credential_id: str, fetch) -> Token:
        token = self._tokens.get(credential_id)
        if token is not None and token.exp - time.time() > REFRESH_MARGIN_SECONDS:
            return token
        with self._lock(credential_id):
            # Another thread may have renewed it while this one waited for the lock.
            token = self._tokens.get(credential_id)
            if token is not None and token.exp - time.time() > REFRESH_MARGIN_SECONDS:
                return token
            token = fetch()
            self._tokens[credential_id] = token
            return token

    def drop(self, credential_id: str, value: str) -> None:
        """Forget the token `value` (refused by the server) unless it was already replaced."""
        with self._lock(credential_id):
            current = self._tokens.get(credential_id)
            if current is not None and current.value == value:
                del self._tokens[credential_id]

    def current(self, credential_id: str) -> Token | None:
        return self._tokens.get(credential_id)

    def put(self, credential_id: str, token: Token) -> None:
        self._tokens[credential_id] = token

    def clear(self) -> None:
        self._tokens.clear()


tokens = TokenCache()


class CaseTenants:
    """case _id -> cust_id, learned from answers. A case never changes tenant, so scope checks of the
    case-detail sections cost no extra call once the case has been read."""

    def __init__(self, size: int = 10_000) -> None:
        self._map: OrderedDict[str, str] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, case_id: str) -> str | None:
        return self._map.get(case_id)

    def put(self, case_id: str, cust_id: str | None) -> None:
        if case_id and cust_id:
            with self._lock:
                self._map[case_id] = cust_id
                if len(self._map) > self._size:
                    self._map.popitem(last=False)
