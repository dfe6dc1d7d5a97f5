"""getAlertDetail: one alert's complete document, found by its stellar_uuid (or ES _id)."""

from __future__ import annotations

from pydantic import Field

from ..results import AlertDetailResult
from ..registry import Tool, ToolArgs, ToolContext, registry
from .common import backend


class AlertDetailArgs(ToolArgs):
    alert_id: str = Field(min_length=1, max_length=100, description="The alert's stellar_uuid (its _id also works).")


def get_alert_detail(ctx: ToolContext, args: AlertDetailArgs) -> AlertDetailResult:
    alert = backend().get_alert(ctx.principal.tenants, args.alert_id)
    source = alert.get("_source") or {}
    ctx.alert_ids.add(source.get("stellar_uuid") or alert["_id"])
    tenant = source.get("tenantid") or source.get("cust_id")
    if tenant:
        ctx.tenant_ids.add(str(tenant))
    result: AlertDetailResult = {"_index": alert["_index"], "_id": alert["_id"], "_source": source}
    if not ctx.ai_summary_enabled:
        result["errors"] = ["AI alert summary is not available: the AI summary feature is disabled in System Settings."]
    elif alert.get("ai_summary") is not None:
        result["ai_summary"] = alert["ai_summary"]
    return result


registry.register(
    Tool(
        name="getAlertDetail",
        title="Get alert detail",
        description=(
            "The complete Elasticsearch document of one alert: IPs and geolocation, MITRE ATT&CK tactic and "
            "technique, XDR event metadata, severity and scores, plus its AI summary when that feature is on. "
            "alert_id is the stellar_uuid shown by getCaseAlerts or getCaseDetail; the index is found automatically."
        ),
        args_model=AlertDetailArgs,
        handler=get_alert_detail,
        result=AlertDetailResult,
        endpoint="GET /connect/api/data/aella-ser-*/_search",
    )
)
