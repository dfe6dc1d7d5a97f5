"""The backend interface the MCP tools and the Public API call to reach case data, and the checks of
the values every caller passes in, whichever door it came through and whichever backend answers.

Two implementations: `embedded` (this project's own database, the default) and `upstream` (a Stellar
Cyber Public API over httpx). Tools never touch the ORM: they call these methods.

Conventions for every method:
- `scope` limits what the caller may see. Anything outside it is `NotFound`, worded exactly like a real
  miss, so that a caller cannot learn that another tenant's case exists.
- Values are plain JSON-able dicts with Stellar Cyber Public API field names; timestamps are UTC epoch
  milliseconds (ints) with an ISO-8601 twin `<name>_iso` where a person reads them (case timestamps).
- Errors are `BackendError` subclasses whose message is one actionable sentence safe to show a client.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from cases.models import CaseStatus, Resolution, Severity
from tenants.scope import TenantScope


class BackendError(Exception):
    """A failure the caller can be told about. `retryable` says whether trying again may help."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable


class NotFound(BackendError):
    pass


class InvalidArgument(BackendError):
    """A value was refused; the message names the argument and what to do."""


class Conflict(BackendError):
    """`expected_version` did not match: nothing was changed."""


class UpstreamUnavailable(BackendError):
    retryable = True


# Bounds of what a caller may ask for. Past them a value is a mistake or an attack: a number a database
# column cannot hold fails in the database, and a search of hundreds of short words reads every case
# once per word.
MAX_LIMIT = 500
MAX_TEXT_FILTER_CHARS = 200
MAX_SEARCH_TERMS = 10
MAX_TAG_FILTERS = 50
MAX_TAG_CHARS = 100
MAX_ASSIGNEE_CHARS = 254
MAX_RESOLUTION_NOTE = 10_000
ASSIGNEE_HINT = "use getCaseDetail with include=assignees to list the users who may be assigned"
MAX_EPOCH_MS = 32_503_680_000_000  # 3000-01-01T00:00:00Z
MAX_TICKET_ID = 2**31 - 1  # a 32-bit integer column on PostgreSQL
MAX_TENANT_FILTERS = 100
SORTS = ("created_at", "modified_at", "score", "ticket_id", "severity")


@dataclass(frozen=True)
class CaseQuery:
    """Filters of a case listing, already validated and normalised by the door it came through."""

    tenants: tuple[str, ...] = ()  # cust_ids, any of (listCases' cust_id; the Public API's tenantid list)
    statuses: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    assignee: str | None = None  # username or email; see `unassigned`
    unassigned: bool = False  # only cases with no assignee
    name: str | None = None  # case-insensitive substring
    tags: tuple[str, ...] = ()  # any of
    min_score: float | None = None
    search: str | None = None
    created_from: int | None = None  # epoch ms, inclusive
    created_to: int | None = None
    modified_from: int | None = None
    modified_to: int | None = None
    # Filters of the Public API (FROM~/TO~ticket_id, ticket_id, TO~score).
    ticket_id: int | None = None
    ticket_from: int | None = None
    ticket_to: int | None = None
    max_score: float | None = None
    sort: str = "created_at"  # created_at | modified_at | score | ticket_id | severity
    order: str = "desc"  # asc | desc
    limit: int = 20
    cursor: str | None = None  # opaque, from a previous page's next_cursor


def shown(value: Any) -> str:
    """A caller-supplied value echoed in a message, bounded so an error stays one short sentence."""
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_choices(name: str, values: Iterable[str], allowed: list[str]) -> None:
    for value in values:
        if value not in allowed:
            raise InvalidArgument(f"{name} {shown(value)!r} is not valid: use one of {', '.join(allowed)}.")


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgument(f"limit must be an integer from 1 to {MAX_LIMIT}.")


def check_epoch_ms(name: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EPOCH_MS):
        raise InvalidArgument(f"{name} must be UTC epoch milliseconds from 0 to {MAX_EPOCH_MS} (year 3000).")


def check_case_query(query: CaseQuery) -> None:
    """InvalidArgument naming the first value of `query` out of bounds; every backend checks with this."""
    if query.sort not in SORTS:
        raise InvalidArgument(f"sort {shown(query.sort)!r} is not valid: use one of {', '.join(SORTS)}.")
    if query.order not in ("asc", "desc"):
        raise InvalidArgument(f"order {shown(query.order)!r} is not valid: use asc or desc.")
    check_limit(query.limit)
    check_choices("status", query.statuses, CaseStatus.values)
    check_choices("severity", query.severities, Severity.values)
    for name, text in (("search", query.search), ("name", query.name)):
        if text is not None and len(text) > MAX_TEXT_FILTER_CHARS:
            raise InvalidArgument(f"{name} is longer than {MAX_TEXT_FILTER_CHARS} characters: shorten it.")
    if query.search is not None and len(query.search.split()) > MAX_SEARCH_TERMS:
        raise InvalidArgument(f"search has more than {MAX_SEARCH_TERMS} words: keep the few that matter.")
    if len(query.tags) > MAX_TAG_FILTERS or any(len(tag) > MAX_TAG_CHARS for tag in query.tags):
        raise InvalidArgument(f"tags: give at most {MAX_TAG_FILTERS} tags of at most {MAX_TAG_CHARS} characters.")
    if query.assignee is not None and len(query.assignee) > MAX_ASSIGNEE_CHARS:
        raise InvalidArgument(f"assignee is longer than {MAX_ASSIGNEE_CHARS} characters: give a username or email.")
    if len(query.tenants) > MAX_TENANT_FILTERS:
        raise InvalidArgument(f"give at most {MAX_TENANT_FILTERS} tenants.")
    if query.min_score is not None and not (math.isfinite(query.min_score) and 0 <= query.min_score <= 100):
        raise InvalidArgument("min_score must be a number from 0 to 100.")
    if query.max_score is not None and not math.isfinite(query.max_score):
        raise InvalidArgument("the score's upper bound must be a finite number.")
    for name in ("created_from", "created_to", "modified_from", "modified_to"):
        check_epoch_ms(name, getattr(query, name))
    for name in ("ticket_id", "ticket_from", "ticket_to"):
        value = getattr(query, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TICKET_ID):
            raise InvalidArgument(f"{name} must be an integer from 0 to {MAX_TICKET_ID}.")


@dataclass(frozen=True)
class CaseUpdate:
    """Fields `updateCase` may change; None means "leave as is"."""

    status: str | None = None
    severity: str | None = None
    assignee: str | None = None  # username or email
    unassign: bool = False
    tags_add: tuple[str, ...] = ()
    tags_delete: tuple[str, ...] = ()
    resolution: str | None = None
    resolution_note: str | None = None
    expected_version: int | None = None


MAX_COMMENT_CHARS = 5000


def check_comment(comment: Any) -> str:
    """A case comment's text, stripped: non-empty, at most MAX_COMMENT_CHARS characters, no NUL."""
    if not isinstance(comment, str) or not comment.strip():
        raise InvalidArgument("comment must be non-empty text.")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise InvalidArgument(f"comment has {len(comment)} characters; at most {MAX_COMMENT_CHARS} are kept per comment.")
    if "\x00" in comment:
        raise InvalidArgument("comment must not contain the NUL character (U+0000).")
    return comment


def _clean_tags(name: str, tags: tuple[str, ...]) -> list[str]:
    cleaned: list[str] = []
    for raw in tags:
        if not isinstance(raw, str):
            raise InvalidArgument(f"{name} must hold strings only.")
        tag = raw.strip()
        if not tag:
            raise InvalidArgument(f"{name} contains an empty tag: remove it.")
        if len(tag) > MAX_TAG_CHARS:
            raise InvalidArgument(f"{name}: tag {shown(tag)!r} is longer than {MAX_TAG_CHARS} characters: shorten it.")
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAG_FILTERS:
        raise InvalidArgument(f"{name} has more than {MAX_TAG_FILTERS} tags: change at most {MAX_TAG_FILTERS} at once.")
    return cleaned


def check_case_update(update: CaseUpdate) -> tuple[list[str], list[str]]:
    """The update's tags to add and to delete, cleaned; InvalidArgument naming the first value out of
    bounds. Every backend checks with this before it reads the case."""
    for name, value, allowed in (
        ("status", update.status, CaseStatus.values),
        ("severity", update.severity, Severity.values),
        ("resolution", update.resolution, Resolution.values),
    ):
        if value is not None:
            check_choices(name, [value], allowed)
    if update.assignee is not None and update.unassign:
        raise InvalidArgument("assignee and unassign were both given: give a username or email, or unassign, not both.")
    if update.assignee is not None and not update.assignee.strip():
        raise InvalidArgument(f"assignee is empty: give a username or email ({ASSIGNEE_HINT}), or unassign.")
    if update.resolution_note is not None and len(update.resolution_note) > MAX_RESOLUTION_NOTE:
        raise InvalidArgument(f"resolution_note is longer than {MAX_RESOLUTION_NOTE} characters: shorten it.")
    if update.expected_version is not None and (
        isinstance(update.expected_version, bool)
        or not isinstance(update.expected_version, int)
        or update.expected_version < 1
    ):
        raise InvalidArgument("expected_version must be a positive integer (the case's `version`).")
    tags_add = _clean_tags("tags.add", update.tags_add)
    tags_delete = _clean_tags("tags.delete", update.tags_delete)
    both = [t for t in tags_add if t in tags_delete]
    if both:
        raise InvalidArgument(f"tag {shown(both[0])!r} is in both tags.add and tags.delete: keep it in one of them.")
    return tags_add, tags_delete


@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int
    next_cursor: str | None
    extra: dict[str, Any] = field(default_factory=dict)
    # "eq": `total` is the number of matches; "gte": there are at least `total` (counting stopped there).
    total_relation: str = "eq"


class CaseBackend(Protocol):
    # --- cases ---------------------------------------------------------------------------------
    def list_cases(self, scope: TenantScope, query: CaseQuery) -> Page:
        """Cases matching `query`, keyset-paginated. Each item has: `_id`, `ticket_id`, `name`, `status`,
        `severity`, `score`, `size`, `assignee` (username or null), `assignee_name`, `tags`, `cust_id`,
        `tenant_name`, `created_at`, `created_at_iso`, `modified_at`, `modified_at_iso`, `version` and
        `resolution` (only when set). Raises InvalidArgument("cursor ...") for a tampered or foreign cursor
        (a cursor is bound to the query's filters and sort)."""
        ...

    def get_case(self, scope: TenantScope, *, case_id: str | None = None, ticket_id: int | None = None) -> dict[str, Any]:
        """The full case record (list fields plus created_by(_name), modified_by(_name) (username, or the
        stored name such as "System" when no user), acknowledged, closed, start_timestamp, end_timestamp
        (ms or 0, each with an `_iso` twin that is null when unset), tenant_group_name, resolution_note).
        Exactly one of case_id / ticket_id, else InvalidArgument."""
        ...

    def reading_one_case(self) -> AbstractContextManager[None]:
        """A block of reads about one case (getCaseDetail's sections): the backend may find the case once
        for the whole block instead of once per read. Scope checks stay per call."""
        ...

    def get_case_summary(self, scope: TenantScope, case_id: str) -> str: ...

    def get_case_ai_summary(self, scope: TenantScope, case_id: str) -> dict[str, Any] | None: ...

    def list_case_alerts(self, scope: TenantScope, case_id: str, *, limit: int, cursor: str | None) -> Page:
        """Alert summaries, newest first: `_id`, `_index`, `stellar_uuid`, `name`, `tactic` {id,name},
        `technique` {id,name}, `severity`, `event_score`, `event_status`, `srcip`, `dstip`, `timestamp`,
        `timestamp_iso`."""
        ...

    def list_case_comments(self, scope: TenantScope, case_id: str, *, limit: int) -> Page:
        """The latest `limit`, latest first: `_id`, `comment`, `user` (username or null), `user_name`,
        `created_at`, `modified_at`. `total` counts all; `next_cursor` is always None."""
        ...

    def list_case_observables(self, scope: TenantScope, case_id: str) -> dict[str, list[dict[str, Any]]]:
        """Grouped by type: {"ip": [{"value", "count", "first_seen", "last_seen"}], ...}."""
        ...

    def list_case_activities(self, scope: TenantScope, case_id: str, *, limit: int) -> Page:
        """The latest `limit`, latest first: `field`, `from`, `to` (text; "" for none; tags as "a, b"),
        `user` (username or null), `user_name`, `timestamp`. `total` counts all."""
        ...

    def list_case_scores(self, scope: TenantScope, case_id: str, *, limit: int) -> Page:
        """The latest `limit`, latest first: `score`, `timestamp`, `reasons` [{"reason"}]. `total` counts all."""
        ...

    def list_assignable_users(self, scope: TenantScope, case_id: str) -> list[dict[str, Any]]:
        """Active users with access to the case's tenant: `username`, `email`, `name`."""
        ...

    def update_case(self, scope: TenantScope, case_id: str, update: CaseUpdate, *, actor: Any) -> dict[str, Any]:
        """Validate everything, then in one transaction apply, write Activity rows and bump `version`.
        Returns {"case": <case record>, "changes": [{"field", "from", "to"}]} (changes empty: nothing
        changed, version not bumped). Raises NotFound, InvalidArgument, Conflict.

        `resolution` needs the resulting status to be Resolved (given in the same update, or the case is
        already Resolved). Leaving Resolved clears the resolution (a change of its own); Resolved or
        Cancelled sets `closed`, reopening clears it; leaving New sets `acknowledged` once. Tags are
        stripped and deduplicated; deleting an absent tag is a no-op; a tag in both add and delete is
        refused. `assignee` must be one of list_assignable_users (username or email, case-insensitive).
        `from`/`to` of assignee are usernames (null for none), of tags the lists, of resolution null
        when unset. `actor` is the acting user (None: "System")."""
        ...

    def add_case_comment(self, scope: TenantScope, case_id: str, comment: str, *, actor: Any) -> dict[str, Any]:
        """Add a comment (check_comment) by `actor` (None: "System"), with a "comment" Activity row, in one
        transaction. Returns {"comment": <as list_case_comments gives it>, "cust_id": <the case's tenant>}.
        Raises NotFound, InvalidArgument. The case's version and modified_at do not change."""
        ...

    # --- alerts --------------------------------------------------------------------------------
    def get_alert(self, scope: TenantScope, alert_id: str) -> dict[str, Any]:
        """By stellar_uuid or ES `_id`: {"_index", "_id", "stellar_uuid", "cust_id", "case_id" (the case's
        `_id` or None), "_source", "ai_summary" (or None)}. An `_id` shared by several visible alerts is
        InvalidArgument asking for the stellar_uuid."""
        ...

    # --- tenants -------------------------------------------------------------------------------
    def list_tenants(self, scope: TenantScope) -> list[dict[str, Any]]:
        """`cust_id`, `cust_name`, `tgrp_name`, `created_at` (ms), `case_count`, `open_case_count`."""
        ...

    def get_tenant(self, scope: TenantScope, cust_id: str) -> dict[str, Any]:
        """The tenant (list fields and `attributes`) plus `case_count` and `open_cases` {"total",
        "by_severity" {every severity: n}, "by_status" {every open status: n}}."""
        ...
