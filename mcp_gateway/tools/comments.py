"""addCaseComment: note findings on a case (read-write keys only)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from cases.backend import InvalidArgument
from cases.backend.base import MAX_COMMENT_CHARS

from ..results import AddCaseCommentResult
from ..registry import Tool, ToolArgs, ToolContext, ToolError, registry
from .common import backend, check_case_id, refuse_ticket_id


class AddCaseCommentArgs(ToolArgs):
    case_id: str = Field(alias="_id", description="Case _id (24 hex), not the ticket_id.")
    comment: str = Field(min_length=1, max_length=MAX_COMMENT_CHARS,
                         description=f"The comment's text, at most {MAX_COMMENT_CHARS} characters.")

    @model_validator(mode="before")
    @classmethod
    def _ticket_id_instead_of_id(cls, data: Any) -> Any:
        return refuse_ticket_id("addCaseComment", data)

    @field_validator("case_id")
    @classmethod
    def _case_id(cls, value: str) -> str:
        return check_case_id(value)


def add_case_comment(ctx: ToolContext, args: AddCaseCommentArgs) -> AddCaseCommentResult:
    ctx.case_ids.add(args.case_id)
    try:
        outcome = backend().add_case_comment(ctx.principal.tenants, args.case_id, args.comment,
                                             actor=ctx.principal.user)
    except InvalidArgument as exc:
        raise ToolError(exc.message) from None
    ctx.tenant_ids.add(outcome["cust_id"])
    # The audit row names the new comment.
    ctx.changes = [{"field": "comment", "from": None, "to": outcome["comment"]["_id"]}]
    return {"case_id": args.case_id, "comment": outcome["comment"]}


registry.register(
    Tool(
        name="addCaseComment",
        title="Add case comment",
        description=(
            "Add a comment to a case, e.g. to note an investigation's findings; it appears at once in "
            "getCaseDetail's comments and activities, under the key owner's name. Needs the case _id (not "
            "ticket_id) and a read-write key. Ask the user before adding a comment they did not request."
        ),
        args_model=AddCaseCommentArgs,
        handler=add_case_comment,
        result=AddCaseCommentResult,
        endpoint="POST /connect/api/v1/cases/{id}/comments",
        read_only=False,
        idempotent=False,
    )
)
