"""listTenant and getTenantDetail: the tenants the key may access."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from ..results import ListTenantResult, TenantDetailResult
from ..registry import Tool, ToolArgs, ToolContext, registry
from .common import backend, check_cust_id, split_list

TENANT_FIELDS = ("cust_id", "cust_name", "tgrp_name", "case_count", "open_case_count", "created_at")


class ListTenantArgs(ToolArgs):
    fields: list[str] | str | None = Field(
        None, description=f"Fields to return (default all): {', '.join(TENANT_FIELDS)}."
    )

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: Any) -> list[str] | None:
        items = split_list(value)
        for item in items:
            if item not in TENANT_FIELDS:
                raise ValueError(f"fields {item[:40]!r} is not one of {', '.join(TENANT_FIELDS)}")
        return items or None


def list_tenant(ctx: ToolContext, args: ListTenantArgs) -> ListTenantResult:
    tenants = backend().list_tenants(ctx.principal.tenants)
    ctx.tenant_ids.update(t["cust_id"] for t in tenants)
    if args.fields:
        tenants = [{f: t.get(f) for f in args.fields} for t in tenants]
    return {"tenants": tenants, "total": len(tenants)}


class TenantDetailArgs(ToolArgs):
    cust_id: str = Field(description="Tenant id (32 hex) from listTenant.")

    @field_validator("cust_id")
    @classmethod
    def _cust_id(cls, value: str) -> str:
        return check_cust_id(value)


def get_tenant_detail(ctx: ToolContext, args: TenantDetailArgs) -> TenantDetailResult:
    tenant = backend().get_tenant(ctx.principal.tenants, args.cust_id)
    ctx.tenant_ids.add(tenant["cust_id"])
    return tenant


registry.register(
    Tool(
        name="listTenant",
        title="List tenants",
        description=(
            "The tenants this key may access, with cust_id (the id other tools filter by), cust_name, "
            "tgrp_name, case counts and creation time. `fields` projects the result."
        ),
        args_model=ListTenantArgs,
        handler=list_tenant,
        result=ListTenantResult,
        endpoint="GET /connect/api/v1/tenants",
    )
)

registry.register(
    Tool(
        name="getTenantDetail",
        title="Get tenant detail",
        description=(
            "One tenant by cust_id, with its open cases counted by severity and status. Use it to check "
            "access to a tenant or to get its context before tenant-scoped work."
        ),
        args_model=TenantDetailArgs,
        handler=get_tenant_detail,
        result=TenantDetailResult,
        endpoint="GET /connect/api/v1/tenants/{id}",
    )
)
