"""Errors of the accounts app that callers outside it catch."""

from __future__ import annotations


class ApiKeyError(Exception):
    """A key service refused the request; the message is one sentence fit for an operator."""


class AuthenticationFailed(Exception):
    """A bearer credential was refused. The message never says why, so it reveals nothing.

    `key_public_id` is the presented key's public id when the credential parses (for the audit row;
    it does not mean the key exists). `rate_limited` is true when the client IP is over its failure
    budget: its refusals are then 429s for `retry_after` more seconds (a valid credential still passes).
    """

    GENERIC_MESSAGE = "Invalid or expired credentials."
    RATE_LIMITED_MESSAGE = "Too many failed authentication attempts; try again later."

    def __init__(self, *, key_public_id: str | None = None, rate_limited: bool = False, retry_after: int = 0) -> None:
        self.key_public_id = key_public_id
        self.rate_limited = rate_limited
        self.retry_after = retry_after
        super().__init__(self.RATE_LIMITED_MESSAGE if rate_limited else self.GENERIC_MESSAGE)

    @property
    def message(self) -> str:
        return str(self)
