"""Ids, times and the plain records the demo generator produces before they are written."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from random import Random
from typing import Any, NamedTuple

from django.contrib.auth.models import AbstractUser
from django.db.models import Model

from cases.models import (
    Activity,
    Alert,
    Case,
    CaseTag,
    Comment,
    Observable,
    ScoreHistory,
)
from tenants.models import Tenant

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def hex_id(rng: Random, chars: int) -> str:
    return f"{rng.getrandbits(chars * 4):0{chars}x}"


def es_id(rng: Random) -> str:
    """An Elasticsearch-style auto id: 20 url-safe base64 characters (15 random bytes)."""
    return base64.urlsafe_b64encode(rng.getrandbits(120).to_bytes(15, "big")).decode()


def dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso(ms: int) -> str:
    return dt(ms).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class TenantProfile:
    """A tenant and the made-up organisation behind it (people, hosts, network)."""

    tenant: Tenant
    number: int  # 1-based, matches analyst-<number>
    domain: str
    net: int  # second octet of the tenant's 10.x.0.0/16
    office: tuple[str, str, str, str, float, float]
    employees: list[str]  # usernames like "jane.doe"
    analyst: AbstractUser | None = None


# Child rows are plain tuples named after the model fields (minus `case`), not model instances: the
# seeder writes hundreds of thousands of them and a model instance costs more than the insert itself.
class AlertRow(NamedTuple):
    es_id: str
    index: str
    stellar_uuid: str
    tenant_id: int
    timestamp: datetime
    source: dict[str, Any]
    name: str
    tactic_id: str
    tactic_name: str
    technique_id: str
    technique_name: str
    severity: int
    event_score: int
    event_status: str
    srcip: str
    dstip: str
    ai_summary: dict[str, Any] | None


class CaseTagRow(NamedTuple):
    tag: str


class ObservableRow(NamedTuple):
    type: str
    value: str
    count: int
    first_seen: datetime
    last_seen: datetime


class CommentRow(NamedTuple):
    stellar_id: str
    user_id: int
    user_name: str
    comment: str
    created_at: datetime
    modified_at: datetime


class ActivityRow(NamedTuple):
    field: str
    from_value: str
    to_value: str
    user_id: int
    user_name: str
    timestamp: datetime


class ScoreHistoryRow(NamedTuple):
    score: float
    timestamp: datetime
    reasons: list[dict[str, str]]


@dataclass
class CaseBundle:
    case: Case
    alerts: list[AlertRow] = field(default_factory=list)
    tags: list[CaseTagRow] = field(default_factory=list)
    observables: list[ObservableRow] = field(default_factory=list)
    comments: list[CommentRow] = field(default_factory=list)
    activities: list[ActivityRow] = field(default_factory=list)
    scores: list[ScoreHistoryRow] = field(default_factory=list)


# What a bundle holds besides the case: (model, bundle attribute, row type), in the order they are written.
CHILDREN: tuple[tuple[type[Model], str, type[tuple]], ...] = (
    (Alert, "alerts", AlertRow),
    (CaseTag, "tags", CaseTagRow),
    (Comment, "comments", CommentRow),
    (Activity, "activities", ActivityRow),
    (Observable, "observables", ObservableRow),
    (ScoreHistory, "scores", ScoreHistoryRow),
)
