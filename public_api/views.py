"""The endpoints of the Stellar-compatible Public API, over the embedded store.

Envelopes are the platform's: {"data": ...} everywhere, except /observables ({"observables": {...}})
and Elasticsearch _search (the raw ES body). Extensions of this instance are documented where they
appear; a client written for the platform never needs them.
"""

from __future__ import annotations

import re
import time
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from accounts.tokens import access_token_issue
from cases.backend import CaseUpdate, InvalidArgument
from cases.backend.base import MAX_LIMIT
from features.switches import current as current_switches

from .auth import ApiKeyOnlyAuthentication
from .base import ApiError, PublicApiView, TenantMismatch, data
from .params import MAX_SKIP, comma_list, parse_case_list, parse_int
from .store import PublicApiStore, stellar_case

store = PublicApiStore()

ALERTS_MAX_LIMIT = 50
SEARCH_MAX_SIZE = 1000
# A gateway acting for one of this instance's users names them in this header on a PUT; it is honoured
# only for a read-write key of a root user (all tenants), who may make the change anyway, only when the
# named user may access the case's tenant (anyone else is refused with 403), and only changes whom the
# change is attributed to (Activity rows, modified_by).
ON_BEHALF_OF_HEADER = "HTTP_X_ON_BEHALF_OF"
UPDATE_FIELDS = ("status", "severity", "assignee", "tags", "resolution", "resolution_note")


def _int_param(request: Request, name: str, default: int, *, cut_to: int | None = None, minimum: int = 0) -> int:
    """An integer query parameter; one over `cut_to` is cut to it (as the platform does with sizes)."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = parse_int(name, raw, minimum=minimum, maximum=2**63 if cut_to is not None else MAX_SKIP)
    return min(value, cut_to) if cut_to is not None else value


class AccessTokenView(PublicApiView):
    """POST /connect/api/v1/access_token: an API key (Bearer, or Basic email:key) for a 10-minute token,
    {"access_token", "exp" (epoch seconds)} plus token_type, expires_in and expires_at."""

    authentication_classes = [ApiKeyOnlyAuthentication]
    route = "/connect/api/v1/access_token"

    def post(self, request: Request) -> Response:
        return Response(access_token_issue(api_key=self.principal.api_key))


class CasesView(PublicApiView):
    route = "/connect/api/v1/cases"

    def get(self, request: Request) -> Response:
        params = parse_case_list(request.query_params)
        scope = self.principal.tenants
        for cust_id in params.query.tenants:
            if not scope.allows(cust_id):
                raise TenantMismatch()
        cases, total = store.case_page(scope, params)
        self.audit_tenants.update(params.query.tenants or (c["cust_id"] for c in cases))
        return data({"cases": cases, "total": total})


class CaseView(PublicApiView):
    route = "/connect/api/v1/cases/{id}"
    write_methods = frozenset({"PUT"})

    def get(self, request: Request, case_id: str) -> Response:
        self.audit_cases.add(case_id)
        case = store.get_case(self.principal.tenants, case_id=case_id)
        self.audit_tenants.add(case["cust_id"])
        return data(stellar_case(case))

    def put(self, request: Request, case_id: str) -> Response:
        """Body: any of status, severity, assignee (username or email; null or "" unassigns), tags
        {"add": [...], "delete": [...]}, resolution (with status Resolved) and, as an extension,
        resolution_note. `update_alerts` is accepted and ignored (alerts have no status workflow here)."""
        self.audit_cases.add(case_id)
        self.require_write()
        body = request.data
        if not isinstance(body, dict):
            raise InvalidArgument("The body must be a JSON object with the fields to change.")
        self.audit_arguments = dict(body)
        unknown = sorted(set(body) - {*UPDATE_FIELDS, "update_alerts"})
        if unknown:
            raise InvalidArgument(f"{unknown[0][:40]} cannot be updated: use {', '.join(UPDATE_FIELDS)}.")
        for name in ("status", "severity", "resolution", "resolution_note"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise InvalidArgument(f"{name} must be a string.")
        assignee = body.get("assignee")
        if assignee is not None and not isinstance(assignee, str):
            raise InvalidArgument("assignee must be a username or email, or null to unassign.")
        unassign = "assignee" in body and not (assignee or "").strip()
        tags = body.get("tags") or {}
        if not isinstance(tags, dict) or set(tags) - {"add", "delete"} or not all(
            isinstance(tags.get(k, []), list) for k in ("add", "delete")
        ):
            raise InvalidArgument('tags must be {"add": [...], "delete": [...]}.')
        update = CaseUpdate(
            status=body.get("status"),
            severity=body.get("severity"),
            assignee=None if unassign else assignee,
            unassign=unassign,
            tags_add=tuple(tags.get("add", ())),
            tags_delete=tuple(tags.get("delete", ())),
            resolution=body.get("resolution"),
            resolution_note=body.get("resolution_note"),
        )
        actor = acting_user(self, request, case_id)
        outcome = store.update_case(self.principal.tenants, case_id, update, actor=actor)
        self.audit_tenants.add(outcome["case"]["cust_id"])
        self.audit_changes = outcome["changes"]
        return data(stellar_case(outcome["case"]))



def acting_user(view: PublicApiView, request: Request, case_id: str) -> Any:
    """Who makes a change: the key's owner, or for a gateway's root-scope key the user X-On-Behalf-Of names
    (an active user with access to the case's tenant, else 403)."""
    wanted = (request.META.get(ON_BEHALF_OF_HEADER) or "").strip()
    principal = view.principal
    if not wanted or not principal.tenants.all_tenants:
        return principal.user
    view.audit_arguments["on_behalf_of"] = wanted[:150]
    acting = store.assignable_user(principal.tenants, case_id, username=wanted[:150])
    if acting is None:
        raise ApiError(403, "forbidden", "X-On-Behalf-Of names no active user with access to this case's tenant.")
    return acting


class CaseSectionView(PublicApiView):
    """GET /cases/{id}/<section>. alerts pages with skip/limit (limit cut to 50) and, as an extension,
    carries `total`; comments, activities and scores are the latest 500, latest first, with `total`
    (an extension) beside `data`. Extensions: /ai_summary ({"data": {...} or null}) and /assignees (the
    users the case may be assigned to)."""

    SECTIONS = ("alerts", "comments", "observables", "activities", "scores", "summary", "ai_summary", "assignees")
    write_methods = frozenset({"POST"})

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.route = f"/connect/api/v1/cases/{{id}}/{kwargs['section']}"
        super().initial(request, *args, **kwargs)

    def get(self, request: Request, case_id: str, section: str) -> Response:
        self.audit_cases.add(case_id)
        scope = self.principal.tenants
        if section == "alerts":
            limit = _int_param(request, "limit", ALERTS_MAX_LIMIT, cut_to=ALERTS_MAX_LIMIT, minimum=1)
            skip = _int_param(request, "skip", 0)
            docs, total = store.case_alert_hits(scope, case_id, skip=skip, limit=limit)
            self.audit_alerts.update(d["_source"].get("stellar_uuid") or d["_id"] for d in docs)
            return data({"docs": docs, "total": total})
        if section == "observables":
            return Response({"observables": store.list_case_observables(scope, case_id)})
        if section == "summary":
            return data(store.get_case_summary(scope, case_id))
        if section == "ai_summary":
            summary = store.get_case_ai_summary(scope, case_id)  # NotFound for a case out of scope, on or off
            return data(summary if current_switches().ai_summary_enabled else None)
        if section == "assignees":
            return data(store.list_assignable_users(scope, case_id))
        reader = {
            "comments": store.list_case_comments,
            "activities": store.list_case_activities,
            "scores": store.list_case_scores,
        }[section]
        page = reader(scope, case_id, limit=MAX_LIMIT)
        items = [{**item, "case_id": case_id} for item in page.items] if section == "comments" else page.items
        return data(items, total=page.total)

    def post(self, request: Request, case_id: str, section: str) -> Response:
        """POST /cases/{id}/comments, body {"comment": "text"}: {"data": <the new comment>}."""
        self.audit_cases.add(case_id)
        if section != "comments":
            raise ApiError(405, "method_not_allowed", "POST is accepted on /cases/{id}/comments only.",
                           headers={"Allow": "GET"})
        self.require_write()
        body = request.data
        if not isinstance(body, dict) or set(body) != {"comment"}:
            raise InvalidArgument('The body must be {"comment": "text"}.')
        self.audit_arguments = dict(body)
        outcome = store.add_case_comment(self.principal.tenants, case_id, body["comment"],
                                         actor=acting_user(self, request, case_id))
        self.audit_tenants.add(outcome["cust_id"])
        self.audit_changes = [{"field": "comment", "from": None, "to": outcome["comment"]["_id"]}]
        return data({**outcome["comment"], "case_id": case_id})


# Lucene query strings of the form  field:value [OR field:"value" ...]  over stellar_uuid and _id.
_CLAUSE = re.compile(r'\s*(?P<field>[A-Za-z_.]+):(?P<value>"(?:[^"\\]|\\.)*"|[^\s"()]+)\s*')
_OR = re.compile(r"(?:OR|\|\|)\s+")
_SEARCH_FIELDS = {"stellar_uuid": "uuid", "stellar.uuid": "uuid", "_id": "es_id"}


def _es_error(reason: str) -> ApiError:
    body = {
        "error": {
            "root_cause": [{"type": "query_shard_exception", "reason": reason}],
            "type": "search_phase_execution_exception",
            "reason": reason,
        },
        "status": 400,
    }
    return ApiError(400, "bad_request", reason, body)


def parse_lucene(q: str) -> tuple[list[str], list[str]]:
    """(stellar_uuids, es_ids) ORed together by `q`; anything else is an ES-style 400."""
    uuids: list[str] = []
    es_ids: list[str] = []
    pos = 0
    while True:
        match = _CLAUSE.match(q, pos)
        if match is None:
            raise _es_error(f"Failed to parse query [{q[:100]}]: use field:value or field:\"value\" joined by OR.")
        field, value = match["field"], match["value"]
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        if field not in _SEARCH_FIELDS:
            raise _es_error(f"Field [{field[:40]}] cannot be searched here: use stellar_uuid or _id.")
        (uuids if _SEARCH_FIELDS[field] == "uuid" else es_ids).append(value)
        pos = match.end()
        if pos == len(q):
            return uuids, es_ids
        joiner = _OR.match(q, pos)
        if joiner is None:
            raise _es_error(f"Failed to parse query [{q[:100]}]: only OR may join clauses.")
        pos = joiner.end()


class AlertSearchView(PublicApiView):
    """GET /connect/api/data/{index}/_search?q=...&size=&from= : the raw Elasticsearch body. `aella-ser-*`
    (or `*`) covers every alert index; other patterns match `_index` by prefix. Each hit carries, as an
    extension, `ext` {cust_id, case_id, ai_summary}. Tenant-limited keys search their own tenants (the
    platform refuses them outright)."""

    route = "/connect/api/data/{index}/_search"

    def get(self, request: Request, index: str) -> Response:
        started = time.perf_counter()
        q = request.query_params.get("q", "").strip()
        uuids, es_ids = parse_lucene(q) if q else ([], [])
        size = _int_param(request, "size", 10, cut_to=SEARCH_MAX_SIZE)
        skip = _int_param(request, "from", 0)
        hits, total = store.search_alerts(self.principal.tenants, index=index, uuids=uuids, es_ids=es_ids,
                                          skip=skip, size=size)
        if not current_switches().ai_summary_enabled:
            for hit in hits:
                hit["ext"]["ai_summary"] = None
        for hit in hits:
            self.audit_alerts.add(hit["_source"].get("stellar_uuid") or hit["_id"])
            self.audit_tenants.add(hit["ext"]["cust_id"])
        return Response(
            {
                "took": int((time.perf_counter() - started) * 1000),
                "timed_out": False,
                "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                "hits": {
                    "total": {"value": total, "relation": "eq"},
                    "max_score": 1.0 if hits else None,
                    "hits": hits,
                },
            }
        )


class TenantsView(PublicApiView):
    """GET /connect/api/v1/tenants[?fields=cust_id,cust_name,...]: the key's tenants. Besides cust_id,
    cust_name, tgrp_name and created_at (epoch ms), each carries case_count and open_case_count."""

    route = "/connect/api/v1/tenants"

    def get(self, request: Request) -> Response:
        tenants = store.list_tenants(self.principal.tenants)
        fields = comma_list(request.query_params.get("fields"))
        if fields:
            known = set(tenants[0]) if tenants else {"cust_id", "cust_name", "tgrp_name", "created_at",
                                                      "case_count", "open_case_count"}
            for name in fields:
                if name not in known:
                    raise InvalidArgument(f"fields: {name[:40]!r} is not a tenant field: use {', '.join(sorted(known))}.")
            tenants = [{f: t[f] for f in fields} for t in tenants]
        self.audit_tenants.update(t["cust_id"] for t in tenants if "cust_id" in t)
        return data(tenants)


class TenantView(PublicApiView):
    """GET /connect/api/v1/tenants/{cust_id}: the tenant, its attributes, case_count and open_cases
    {total, by_severity, by_status}."""

    route = "/connect/api/v1/tenants/{id}"

    def get(self, request: Request, cust_id: str) -> Response:
        self.audit_tenants.add(cust_id)
        return data(store.get_tenant(self.principal.tenants, cust_id))


class UnknownEndpointView(PublicApiView):
    """Any other path under /connect/api/: a JSON 404 (after authentication), audited like the rest."""

    route = "/connect/api/<unknown>"

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.audit_arguments = {"path": request.path[:200]}
        raise ApiError(404, "not_found", "No such Public API endpoint: see /connect/api/v1/cases, /tenants, /data/{index}/_search.")

    post = put = patch = delete = get
