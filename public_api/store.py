"""The reads the Public API needs beyond the backend interface: offset pages of full records (the platform
pages with skip/limit, the interface with keyset cursors) and Elasticsearch-style alert search.

They extend the embedded backend, so every filter, the tenant scope and the "not found" wording are
the embedded backend's own: the REST API and the MCP tools cannot disagree about who sees what.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from cases.backend.embedded import EmbeddedBackend
from cases.backend.queries import assignable_users, scoped_alerts, visible_case
from cases.models import Alert
from tenants.scope import TenantScope

from .params import CaseListParams


def stellar_case(record: dict[str, Any]) -> dict[str, Any]:
    """A case as the platform shows it: the backend record without its ISO-8601 twins."""
    return {k: v for k, v in record.items() if not k.endswith("_iso")}


def alert_hit(alert: dict[str, Any], score: float | None = None) -> dict[str, Any]:
    """An Elasticsearch hit, plus `ext`, this instance's extension: the alert's tenant, case and AI summary."""
    return {
        "_index": alert["index"],
        "_type": "_doc",
        "_id": alert["es_id"],
        "_score": score,
        "_source": alert["source"],
        "ext": {
            "cust_id": alert["tenant__cust_id"],
            "case_id": alert["case__stellar_id"],
            "ai_summary": alert["ai_summary"],
        },
    }


_HIT_FIELDS = ("es_id", "index", "source", "tenant__cust_id", "case__stellar_id", "ai_summary")


class PublicApiStore(EmbeddedBackend):
    def case_page(self, scope: TenantScope, params: CaseListParams) -> tuple[list[dict[str, Any]], int]:
        """One skip/limit page of cases as the platform shows them, in listCases' order, and the total."""
        records, total = self.case_records(scope, params.query, skip=params.skip)
        return [stellar_case(record) for record in records], total

    def case_alert_hits(self, scope: TenantScope, case_id: str, *, skip: int, limit: int) -> tuple[list[dict], int]:
        """A page of a case's alerts, newest first (the order of list_case_alerts), and their number."""
        case_pk, _ = visible_case(scope, case_id)
        qs = Alert.objects.filter(case_id=case_pk)
        rows = list(qs.order_by("-timestamp", "-pk").values(*_HIT_FIELDS)[skip : skip + limit])
        total = skip + len(rows) if rows and len(rows) < limit else qs.count()
        return [alert_hit(row) for row in rows], total

    def search_alerts(
        self, scope: TenantScope, *, index: str, uuids: list[str], es_ids: list[str], skip: int, size: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Alerts in `index` (an index name or a pattern ending in *) whose stellar_uuid or _id is one of
        the given values (no value at all: every alert), newest first, and their number."""
        qs = scoped_alerts(scope)
        if index not in ("*", "aella-ser-*", "_all"):
            qs = qs.filter(index__startswith=index[:-1]) if index.endswith("*") else qs.filter(index=index)
        if uuids or es_ids:
            qs = qs.filter(Q(stellar_uuid__in=uuids) | Q(es_id__in=es_ids))
        rows = list(qs.order_by("-timestamp", "-pk").values(*_HIT_FIELDS)[skip : skip + size])
        total = skip + len(rows) if rows and len(rows) < size else qs.count()
        return [alert_hit(row, 1.0) for row in rows], total

    def assignable_user(self, scope: TenantScope, case_id: str, *, username: str) -> Any:
        """The active user named `username` if they may access the case's tenant, else
        None; NotFound when the case is not in `scope`."""
        _, tenant_pk = visible_case(scope, case_id)
        return assignable_users(tenant_pk).filter(username=username).first()
