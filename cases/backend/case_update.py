"""`updateCase` and `addCaseComment` for the embedded backend: validate everything, then apply in one
short transaction.

Validation that needs no lock (values, the assignee) runs first, so a refused update never opens a
write transaction. The transaction re-reads the case under a row lock (SELECT ... FOR UPDATE on
PostgreSQL; SQLite's IMMEDIATE transactions take the database write lock at BEGIN), so concurrent
updates serialize and each one sees the version the previous one wrote.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cases.models import Activity, Case, CaseStatus, CaseTag, Comment
from tenants.models import Tenant
from tenants.scope import TenantScope

from .base import (
    ASSIGNEE_HINT,
    CaseUpdate,
    Conflict,
    InvalidArgument,
    check_case_update,
    check_comment,
    shown,
)
from .queries import assignable_users, case_not_found, visible_case
from .serializers import CASE_RECORD_FIELDS, case_record, to_ms, user_display_name
from .tenant_counts import forget_tenant_case_counts

CLOSED_STATUSES = (CaseStatus.RESOLVED, CaseStatus.CANCELLED)


def _resolve_assignee(tenant_pk: int, wanted: str) -> Any:
    """The assignable user named by username or email (case-insensitive); a username match wins."""
    wanted = wanted.strip()
    candidates = list(
        assignable_users(tenant_pk)
        .filter(Q(username__iexact=wanted) | Q(email__iexact=wanted))
        .only("username", "email", "first_name", "last_name")
    )
    by_username = [u for u in candidates if u.username.lower() == wanted.lower()]
    if len(by_username) == 1:
        return by_username[0]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InvalidArgument(f"assignee {shown(wanted)!r} is not a user who may be assigned to this case: {ASSIGNEE_HINT}.")
    raise InvalidArgument(f"assignee {shown(wanted)!r} matches several users: give the username instead ({ASSIGNEE_HINT}).")


def _tags_text(tags: list[str]) -> str:
    return ", ".join(tags)


def update_case(scope: TenantScope, case_id: str, update: CaseUpdate, *, actor: Any) -> dict[str, Any]:
    """See CaseBackend.update_case."""
    tags_add, tags_delete = check_case_update(update)
    case_pk, tenant_pk, status_before = visible_case(scope, case_id, "status")
    new_assignee = _resolve_assignee(tenant_pk, update.assignee) if update.assignee is not None else None
    if update.resolution is not None and (update.status or status_before) != CaseStatus.RESOLVED:
        raise InvalidArgument(
            "resolution is only accepted with status Resolved: add status 'Resolved' to the update, or leave resolution out."
        )

    actor_user = actor if getattr(actor, "pk", None) is not None else None
    actor_name = user_display_name(actor_user) if actor_user is not None else "System"

    with transaction.atomic():
        try:
            case = Case.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=case_pk)
        except Case.DoesNotExist:  # deleted since the lookup above
            raise case_not_found(case_id) from None
        if update.expected_version is not None and case.version != update.expected_version:
            raise Conflict(
                f"Case {case.stellar_id} was changed meanwhile: its version is now {case.version}, not "
                f"{update.expected_version}. Nothing was changed; read it again with getCaseDetail and retry "
                f"with expected_version {case.version}."
            )
        # Re-checked under the lock: the status may have moved since the check above.
        if update.resolution is not None and (update.status or case.status) != CaseStatus.RESOLVED:
            raise InvalidArgument(
                "resolution is only accepted with status Resolved: add status 'Resolved' to the update, or leave resolution out."
            )
        now = timezone.now()
        changes: list[dict[str, Any]] = []
        activity_text: list[tuple[str, str, str]] = []
        fields: set[str] = set()

        def change(field: str, before: Any, after: Any, before_text: str, after_text: str) -> None:
            changes.append({"field": field, "from": before, "to": after})
            activity_text.append((field, before_text, after_text))
            fields.add(field)

        if update.status is not None and update.status != case.status:
            before = case.status
            change("status", before, update.status, before, update.status)
            case.status = update.status
            if update.status in CLOSED_STATUSES and before not in CLOSED_STATUSES:
                case.closed = now
                fields.add("closed")
            elif update.status not in CLOSED_STATUSES and before in CLOSED_STATUSES:
                case.closed = None
                fields.add("closed")
            if before == CaseStatus.NEW and case.acknowledged is None:
                case.acknowledged = now
                fields.add("acknowledged")
            if before == CaseStatus.RESOLVED and case.resolution and update.resolution is None:
                # A reopened (or cancelled) case has no resolution any more.
                change("resolution", case.resolution, None, case.resolution, "")
                case.resolution = ""
        if update.resolution is not None and update.resolution != case.resolution:
            change("resolution", case.resolution or None, update.resolution, case.resolution, update.resolution)
            case.resolution = update.resolution
        if update.resolution_note is not None and update.resolution_note != case.resolution_note:
            change("resolution_note", case.resolution_note, update.resolution_note, case.resolution_note, update.resolution_note)
            case.resolution_note = update.resolution_note
        if update.severity is not None and update.severity != case.severity:
            change("severity", case.severity, update.severity, case.severity, update.severity)
            case.severity = update.severity
        if update.assignee is not None or update.unassign:
            before_user = case.assignee
            if (before_user.pk if before_user else None) != (new_assignee.pk if new_assignee else None):
                before_name = before_user.username if before_user else None
                after_name = new_assignee.username if new_assignee else None
                change("assignee", before_name, after_name, before_name or "", after_name or "")
                case.assignee = new_assignee
        old_tags = list(dict.fromkeys(case.tags or ()))
        new_tags = [t for t in old_tags if t not in tags_delete] + [t for t in tags_add if t not in old_tags]
        if new_tags != old_tags:
            change("tags", old_tags, new_tags, _tags_text(old_tags), _tags_text(new_tags))
            case.tags = new_tags
            removed = [t for t in old_tags if t not in new_tags]
            added = [t for t in new_tags if t not in old_tags]
            if removed:
                CaseTag.objects.filter(case_id=case.pk, tag__in=removed).delete()
            if added:
                CaseTag.objects.bulk_create([CaseTag(case_id=case.pk, tag=t) for t in added], ignore_conflicts=True)

        if changes:
            case.version += 1
            case.modified_at = now
            case.modified_by = actor_user
            case.modified_by_name = actor_name
            # save() recomputes severity_rank and search_text from the fields above.
            case.save(
                update_fields=[
                    *sorted(fields),
                    "version",
                    "modified_at",
                    "modified_by",
                    "modified_by_name",
                    "severity_rank",
                    "search_text",
                ]
            )
            if "status" in fields:
                transaction.on_commit(lambda: forget_tenant_case_counts(case.tenant_id))
            Activity.objects.bulk_create(
                [
                    Activity(case_id=case.pk, field=f, from_value=b, to_value=a, user=actor_user, user_name=actor_name, timestamp=now)
                    for f, b, a in activity_text
                ]
            )
        record = case_record(Case.objects.filter(pk=case_pk).values(*CASE_RECORD_FIELDS).get())
    return {"case": record, "changes": changes}


def add_case_comment(scope: TenantScope, case_id: str, text: str, *, actor: Any) -> dict[str, Any]:
    """See CaseBackend.add_case_comment."""
    text = check_comment(text)
    case_pk, tenant_pk = visible_case(scope, case_id)
    actor_user = actor if getattr(actor, "pk", None) is not None else None
    actor_name = user_display_name(actor_user) if actor_user is not None else "System"
    with transaction.atomic():
        now = timezone.now()
        comment = Comment.objects.create(case_id=case_pk, user=actor_user, user_name=actor_name, comment=text,
                                         created_at=now, modified_at=now)
        Activity.objects.create(case_id=case_pk, field="comment", from_value="", to_value=text, user=actor_user,
                                user_name=actor_name, timestamp=now)
    item = {"_id": comment.stellar_id, "comment": text, "user": actor_user.get_username() if actor_user else None,
            "user_name": actor_name, "created_at": to_ms(now), "modified_at": to_ms(now)}
    return {"comment": item, "cust_id": Tenant.objects.values_list("cust_id", flat=True).get(pk=tenant_pk)}
