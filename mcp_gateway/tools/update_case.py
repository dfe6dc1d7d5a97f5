"""updateCase: change a case's status, severity, assignee, tags or resolution (read-write keys only)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cases.backend import CaseUpdate, InvalidArgument
from cases.models import CaseStatus

from ..results import UpdateCaseResult
from ..registry import Tool, ToolArgs, ToolContext, ToolError, registry
from .common import (
    RESOLUTIONS,
    SEVERITIES,
    STATUSES,
    UNASSIGNED_WORDS,
    backend,
    check_case_id,
    normalise_choice,
    refuse_ticket_id,
)


class TagChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    add: list[str] = Field(default_factory=list, max_length=50)
    delete: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("add", "delete")
    @classmethod
    def _clean(cls, value: list[str]) -> list[str]:
        out = []
        for tag in value:
            tag = tag.strip()
            if not tag or len(tag) > 100:
                raise ValueError("each tag must be 1 to 100 characters")
            out.append(tag)
        return list(dict.fromkeys(out))


class UpdateCaseArgs(ToolArgs):
    case_id: str = Field(alias="_id", description="Case _id (24 hex), not the ticket_id.")
    status: str | None = Field(None, description="New, In Progress, Escalated, Resolved or Cancelled.")
    severity: str | None = Field(None, description="Critical, High, Medium or Low.")
    assignee: str | None = Field(
        None, description="Username or email of one of the case's assignable users; null or 'none' to unassign."
    )
    tags: TagChanges | None = Field(None, description='{"add": [...], "delete": [...]}')
    resolution: str | None = Field(None, description="False Positive, Benign or True Positive; with status Resolved.")
    resolution_note: str | None = Field(None, max_length=2000)
    expected_version: int | None = Field(
        None, ge=1, description="The case version you read; the update is refused if it changed meanwhile."
    )

    @model_validator(mode="before")
    @classmethod
    def _ticket_id_instead_of_id(cls, data: Any) -> Any:
        return refuse_ticket_id("updateCase", data)

    @field_validator("case_id")
    @classmethod
    def _case_id(cls, value: str) -> str:
        return check_case_id(value)

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str | None:
        return normalise_choice(value, STATUSES, argument="status") if value else None

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: str | None) -> str | None:
        return normalise_choice(value, SEVERITIES, argument="severity") if value else None

    @field_validator("resolution")
    @classmethod
    def _resolution(cls, value: str | None) -> str | None:
        return normalise_choice(value, RESOLUTIONS, argument="resolution") if value else None

    @model_validator(mode="after")
    def _consistent(self) -> "UpdateCaseArgs":
        if self.resolution and self.status != CaseStatus.RESOLVED:
            raise ValueError("resolution can only be set together with status 'Resolved'")
        changing = {"status", "severity", "assignee", "tags", "resolution", "resolution_note"} & self.model_fields_set
        if not changing:
            raise ValueError(
                "nothing to update: give at least one of status, severity, assignee, tags, resolution, resolution_note"
            )
        return self


def update_case(ctx: ToolContext, args: UpdateCaseArgs) -> UpdateCaseResult:
    unassign = "assignee" in args.model_fields_set and (
        args.assignee is None or args.assignee.strip().lower() in UNASSIGNED_WORDS | {""}
    )
    update = CaseUpdate(
        status=args.status,
        severity=args.severity,
        assignee=None if unassign else args.assignee,
        unassign=unassign,
        tags_add=tuple(args.tags.add) if args.tags else (),
        tags_delete=tuple(args.tags.delete) if args.tags else (),
        resolution=args.resolution,
        resolution_note=args.resolution_note,
        expected_version=args.expected_version,
    )
    ctx.case_ids.add(args.case_id)
    try:
        outcome = backend().update_case(ctx.principal.tenants, args.case_id, update, actor=ctx.principal.user)
    except InvalidArgument as exc:
        raise ToolError(exc.message) from None
    ctx.tenant_ids.add(outcome["case"]["cust_id"])
    ctx.changes = outcome["changes"]
    result: dict[str, Any] = {"case": outcome["case"], "changes": outcome["changes"]}
    if not outcome["changes"]:
        result["message"] = "No change: the case already has these values; its version was not bumped."
    return result


registry.register(
    Tool(
        name="updateCase",
        title="Update case",
        description=(
            "Change a case's status, severity, assignee, tags ({add, delete}) or resolution (False Positive, "
            "Benign, True Positive; only with status Resolved). Needs the case _id (not ticket_id) and a "
            "read-write key. Values are validated before anything is written; pass expected_version (the "
            "case's version) to refuse the update if someone changed the case meanwhile. Assignable users: "
            "getCaseDetail include=assignees. Returns the updated case and the changes (field, from, to)."
        ),
        args_model=UpdateCaseArgs,
        handler=update_case,
        result=UpdateCaseResult,
        endpoint="PUT /connect/api/v1/cases/{id}",
        read_only=False,
        idempotent=True,
    )
)
