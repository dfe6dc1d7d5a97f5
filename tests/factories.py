"""Small ORM factories for tests: real rows, sensible defaults, every field overridable.

    tenant = make_tenant("Acme")
    analyst = make_user("ana", tenants=[tenant])
    root = make_user("root", root=True)
    case = make_case(tenant, severity="High", tags=["phishing"], assignee=analyst)
    alert = make_alert(case, name="Phishing link clicked")
    scope = scope_for(tenant)          # what a principal limited to Acme sees
"""

from __future__ import annotations

import itertools
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Max
from django.utils import timezone

from cases.models import (
    Activity,
    Alert,
    Case,
    CaseTag,
    Comment,
    Observable,
    ScoreHistory,
)
from tenants.models import Tenant, TenantAccess
from tenants.scope import TenantScope

_seq = itertools.count(1)

ROOT_SCOPE = TenantScope(all_tenants=True)
NO_TENANTS = TenantScope(all_tenants=False)


def scope_for(*tenants: Tenant) -> TenantScope:
    return TenantScope(all_tenants=False, cust_ids=frozenset(t.cust_id for t in tenants))


def make_tenant(cust_name: str | None = None, **fields: Any) -> Tenant:
    fields.setdefault("created_at", timezone.now())
    return Tenant.objects.create(cust_name=cust_name or f"Tenant {next(_seq)}", **fields)


def make_user(
    username: str | None = None,
    *,
    tenants: list[Tenant] | tuple[Tenant, ...] = (),
    root: bool = False,
    access: bool = True,
    password: str | None = None,
    **fields: Any,
):
    """A user with a TenantAccess row (`root` = all tenants) unless `access=False` (no tenant at all)."""
    username = username or f"user{next(_seq)}"
    fields.setdefault("email", f"{username}@example.com")
    user = get_user_model().objects.create_user(username=username, password=password, **fields)
    if access:
        grant = TenantAccess.objects.create(user=user, all_tenants=root)
        grant.tenants.set(tenants)
    return user


def next_ticket_id() -> int:
    return (Case.objects.aggregate(m=Max("ticket_id"))["m"] or 1000) + 1


def make_case(tenant: Tenant, **fields: Any) -> Case:
    """A saved case with its CaseTag rows; `created_at` defaults to now, `modified_at` to `created_at`."""
    fields.setdefault("ticket_id", next_ticket_id())
    fields.setdefault("name", f"Case {fields['ticket_id']}")
    fields.setdefault("created_at", timezone.now())
    fields.setdefault("modified_at", fields["created_at"])
    fields.setdefault("tags", [])
    case = Case.objects.create(tenant=tenant, **fields)
    CaseTag.objects.bulk_create([CaseTag(case=case, tag=t) for t in dict.fromkeys(case.tags)])
    return case


def make_alert(case: Case | None = None, *, tenant: Tenant | None = None, **fields: Any) -> Alert:
    tenant = tenant or case.tenant
    n = next(_seq)
    fields.setdefault("es_id", secrets.token_urlsafe(15))
    fields.setdefault("index", f"stellar-index-v1-ser-{tenant.cust_id[:8]}-2024.03.07-{n:06d}")
    fields.setdefault("stellar_uuid", secrets.token_hex(16))
    fields.setdefault("timestamp", timezone.now())
    fields.setdefault("name", f"Alert {n}")
    fields.setdefault(
        "source",
        {
            "stellar_uuid": fields["stellar_uuid"],
            "tenantid": tenant.cust_id,
            "timestamp": int(fields["timestamp"].timestamp() * 1000),
            "xdr_event": {"name": fields["name"]},
        },
    )
    return Alert.objects.create(case=case, tenant=tenant, **fields)


def make_comment(case: Case, comment: str = "Looked at it.", *, user=None, at: datetime | None = None, **fields: Any) -> Comment:
    at = at or timezone.now()
    fields.setdefault("user_name", user.username if user else "System")
    return Comment.objects.create(case=case, comment=comment, user=user, created_at=at, modified_at=at, **fields)


def make_observable(case: Case, type: str = "ip", value: str = "10.0.0.1", **fields: Any) -> Observable:
    fields.setdefault("first_seen", timezone.now() - timedelta(hours=1))
    fields.setdefault("last_seen", timezone.now())
    return Observable.objects.create(case=case, type=type, value=value, **fields)


def make_activity(case: Case, field: str = "status", from_value: str = "New", to_value: str = "In Progress", **fields: Any) -> Activity:
    fields.setdefault("user_name", "System")
    fields.setdefault("timestamp", timezone.now())
    return Activity.objects.create(case=case, field=field, from_value=from_value, to_value=to_value, **fields)


def make_score(case: Case, score: float = 50.0, **fields: Any) -> ScoreHistory:
    fields.setdefault("timestamp", timezone.now())
    fields.setdefault("reasons", [{"reason": "New alert added"}])
    return ScoreHistory.objects.create(case=case, score=score, **fields)


# How each listCases sort orders Case rows (the expected order of a listing, in Python).
SORT_KEYS = {
    "created_at": lambda c: c.created_at,
    "modified_at": lambda c: c.modified_at,
    "score": lambda c: c.score,
    "ticket_id": lambda c: c.ticket_id,
    "severity": lambda c: c.severity_rank,
}
