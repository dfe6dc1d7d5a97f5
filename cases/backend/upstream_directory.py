"""The upstream backend's alert search and tenant reads (part of UpstreamBackend, which supplies `config`,
`_get` and `_refused`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from cases.models import OPEN_STATUSES, Severity
from tenants.scope import TenantScope

from .base import InvalidArgument, NotFound, UpstreamUnavailable, shown
from .upstream_client import ALERT_SEARCH, CASES, TENANTS, UpstreamRefusal
from .upstream_mapping import hit_tenant, lucene_phrase, tenant_item

OPEN = ",".join(OPEN_STATUSES)
TENANT_COUNT_KEYS = ("case_count", "open_case_count")


class AlertsAndTenants:
    # --- alerts --------------------------------------------------------------------------------
    def get_alert(self, scope: TenantScope, alert_id: str) -> dict[str, Any]:
        missing = NotFound(f"No alert with id {shown(alert_id)} is visible to this key.")
        q = f"stellar_uuid:{lucene_phrase(alert_id)} OR _id:{lucene_phrase(alert_id)}"
        try:
            body = self._get(ALERT_SEARCH, what="search alerts", params={"q": q, "size": 10})
        except UpstreamRefusal as exc:
            if exc.status == 404:
                raise missing from None
            if exc.status == 403:
                raise UpstreamUnavailable(
                    f"The Stellar Cyber API at {self.config.host} refused the alert search (403): it needs a "
                    f"root-scope API key as STELLAR_API_KEY; retrying will not help.",
                    retryable=False,
                ) from None
            raise self._refused(exc, "search alerts") from None
        found = body.get("hits") if isinstance(body, dict) else None
        hits = found.get("hits") if isinstance(found, dict) else None
        hits = hits if isinstance(hits, list) else []
        visible = [h for h in hits if isinstance(h, dict) and scope.allows(hit_tenant(h) or "")]
        by_uuid = [h for h in visible if (h.get("_source") or {}).get("stellar_uuid") == alert_id]
        if by_uuid:
            hit = by_uuid[0]
        elif len(visible) == 1:
            hit = visible[0]
        elif not visible:
            raise missing
        else:
            raise InvalidArgument(
                f"alert_id {shown(alert_id)} is the _id of several alerts: give the alert's stellar_uuid instead."
            )
        source = hit.get("_source") or {}
        ext = hit.get("ext") or {}
        return {
            "_index": hit.get("_index"),
            "_id": hit.get("_id"),
            "stellar_uuid": source.get("stellar_uuid"),
            "cust_id": hit_tenant(hit),
            "case_id": ext.get("case_id"),
            "_source": source,
            "ai_summary": ext.get("ai_summary"),
        }

    # --- tenants -------------------------------------------------------------------------------
    def _count_cases(self, cust_id: str, **filters: str) -> int:
        params = {"tenantid": cust_id, "FROM~created_at": 0, "limit": 1, **filters}
        body = self._get(CASES, what="count a tenant's cases", params=params)
        data = body.get("data") if isinstance(body, dict) else None
        total = data.get("total") if isinstance(data, dict) else None
        return total if isinstance(total, int) else 0

    def list_tenants(self, scope: TenantScope) -> list[dict[str, Any]]:
        try:
            body = self._get(TENANTS, what="list tenants")
        except UpstreamRefusal as exc:
            raise self._refused(exc, "list tenants") from None
        rows = body.get("data") if isinstance(body, dict) else None
        rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
        out = []
        for row in rows:
            if not scope.allows(row.get("cust_id") or ""):
                continue
            item = tenant_item(row)
            if all(isinstance(row.get(k), int) for k in TENANT_COUNT_KEYS):
                item.update({k: row[k] for k in TENANT_COUNT_KEYS})
            else:  # the platform has no counts: two /cases calls per tenant
                item["case_count"] = self._count_cases(item["cust_id"])
                item["open_case_count"] = self._count_cases(item["cust_id"], status=OPEN)
            out.append(item)
        return out

    def get_tenant(self, scope: TenantScope, cust_id: str) -> dict[str, Any]:
        missing = NotFound(f"No tenant with cust_id {shown(cust_id)} is visible to this key.")
        if not scope.allows(cust_id):
            raise missing
        try:
            body = self._get(f"{TENANTS}/{quote(str(cust_id), safe='')}", what="read a tenant")
        except UpstreamRefusal as exc:
            if exc.status in (403, 404, 400, 422):
                raise missing from None
            raise self._refused(exc, "read a tenant") from None
        row = body.get("data") if isinstance(body, dict) else None
        if not isinstance(row, dict) or row.get("cust_id") != cust_id:
            raise missing
        attributes = row.get("attributes")
        if not isinstance(attributes, dict):
            attributes = {k: row[k] for k in ("address", "contact") if k in row}
        result = {**tenant_item(row), "attributes": attributes}
        if isinstance(row.get("case_count"), int) and isinstance(row.get("open_cases"), dict):
            result["case_count"], result["open_cases"] = row["case_count"], row["open_cases"]
            return result
        by_severity = {s: self._count_cases(cust_id, status=OPEN, severity=s) for s in Severity.values}
        by_status = {s.value: self._count_cases(cust_id, status=s.value) for s in OPEN_STATUSES}
        result["case_count"] = self._count_cases(cust_id)
        result["open_cases"] = {"total": sum(by_status.values()), "by_severity": by_severity, "by_status": by_status}
        return result
