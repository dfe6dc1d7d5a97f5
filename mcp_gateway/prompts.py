"""The product documentation's workflows as MCP prompts (Claude Code shows them as slash commands), and
completion of their arguments.

A prompt's messages name the tools to call, in order, and the answer to produce; none of them changes a
case without asking first. Getting a prompt reads the case or tenant its arguments name, within the
caller's tenants (an unknown or foreign case is the same error), so it is audited like a tool call.
Completion offers at most 100 values, all within the caller's tenants, each from an index lookup.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cases.backend import CaseQuery, InvalidArgument, NotFound
from cases.backend.base import MAX_TICKET_ID
from tenants.scope import usernames_within

from .registry import ToolContext, ToolError
from .tools.common import SEVERITIES, STATUSES, backend

MAX_COMPLETIONS = 100
CASE_ARGUMENT = {"name": "case", "description": "The case: its ticket number (e.g. 1300) or its _id.",
                 "required": True}
_CASE_REF = re.compile(r"#?(?P<ticket>\d{1,10})(?:\b.*)?|(?P<id>[0-9a-f]{24})", re.S)
NO_WRITES = ("Do not change the case: if a change would help, say which (the exact updateCase or addCaseComment "
             "call) and ask me first.")


@dataclass(frozen=True)
class Prompt:
    name: str
    title: str
    description: str
    arguments: list[dict[str, Any]]
    build: Callable[[ToolContext, dict[str, str]], str]  # the user message
    writes: bool = False  # leads to a change: offered to read-write keys only
    completions: dict[str, Callable[[ToolContext, str], list[str]]] = field(default_factory=dict)

    def definition(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "description": self.description, "arguments": self.arguments}


# --- reading what the arguments name ---------------------------------------------------------------
def _case(ctx: ToolContext, value: str) -> dict[str, Any]:
    """The case an argument names (ticket number, "1300 name" as completed, or _id), within the caller's tenants."""
    match = _CASE_REF.fullmatch((value or "").strip())
    if match is None:
        raise ToolError("case must be a ticket number (e.g. 1300) or a case _id (24 hex characters).")
    try:
        if match["ticket"]:
            case = backend().get_case(ctx.principal.tenants, ticket_id=int(match["ticket"]))
        else:
            case = backend().get_case(ctx.principal.tenants, case_id=match["id"])
    except (NotFound, InvalidArgument) as exc:
        raise ToolError(exc.message) from None
    ctx.case_ids.add(case["_id"])
    ctx.tenant_ids.add(case["cust_id"])
    return case


def _named(case: dict[str, Any]) -> str:
    return (f"case {case['ticket_id']} \"{case['name']}\" (_id {case['_id']}, {case['severity']}, {case['status']}, "
            f"version {case.get('version')})")


def _tenant(ctx: ToolContext, value: str) -> dict[str, Any]:
    wanted = value.strip().lower()
    for tenant in backend().list_tenants(ctx.principal.tenants):
        if wanted in (str(tenant.get("cust_id", "")).lower(), str(tenant.get("cust_name", "")).lower()):
            ctx.tenant_ids.add(tenant["cust_id"])
            return tenant
    raise ToolError(f"No tenant named {value[:60]!r} is visible to this key: use a name listTenant shows.")


# --- the prompts ---------------------------------------------------------------------------------------
def _triage(ctx: ToolContext, args: dict[str, str]) -> str:
    filters = ['status="Open"', 'created_within="30d"', 'sort="severity"', 'order="desc"', "limit=50"]
    scope_words = []
    if args.get("tenant"):
        tenant = _tenant(ctx, args["tenant"])
        filters.insert(1, f'cust_id="{tenant["cust_id"]}"')
        scope_words.append(f"in tenant {tenant['cust_name']}")
    if args.get("severity"):
        severities = [s.strip().title() for s in args["severity"].split(",") if s.strip()]
        unknown = [s for s in severities if s not in SEVERITIES]
        if unknown:
            raise ToolError(f"severity {unknown[0][:20]!r} is not one of {', '.join(SEVERITIES)}.")
        filters.insert(1, f'severity="{",".join(severities)}"')
        scope_words.append(f"of severity {', '.join(severities)}")
    if args.get("assignee"):
        filters.insert(1, f'assignee="{args["assignee"].strip()[:150]}"')
        scope_words.append(f"assigned to {args['assignee'].strip()[:150]}")
    return (
        f"Triage my open cases{' ' + ' '.join(scope_words) if scope_words else ''}.\n\n"
        f"1. Call listCases with {', '.join(filters)}. If next_cursor is set, call it again with that cursor "
        "until you have them all (stop at 200 and say so). If total is 0, widen created_within to 90d once.\n"
        '2. For the five most severe, call getCaseDetail with include=["case", "summary", "alerts", "aiSummary"].\n\n'
        "Answer with:\n"
        "- a table of the open cases: ticket, name, severity, status, assignee, age;\n"
        "- for each of the five: what happened in one sentence, why it matters, and the next step;\n"
        "- flags: Critical or High cases that are unassigned, and cases not modified for over 24 hours.\n\n"
        + NO_WRITES
    )


def _escalation(ctx: ToolContext, args: dict[str, str]) -> str:
    case = _case(ctx, args["case"])
    return (
        f"Review {_named(case)} before I escalate it.\n\n"
        f'1. Call getCaseDetail with _id="{case["_id"]}" (every section).\n'
        f'2. If it has more than 5 alerts, call getCaseAlerts with _id="{case["_id"]}", limit=50, and page with '
        "next_cursor.\n"
        "3. For the three most severe alerts, call getAlertDetail with their stellar_uuid.\n\n"
        "Answer with: a summary of the case; the evidence for and against escalating (alerts, MITRE ATT&CK tactics "
        "and techniques, observables, score history, the AI summary's verdict); what is missing or contradictory; "
        "and a recommendation: escalate or not, and to whom among the assignable users.\n\n"
        f"{NO_WRITES} If I agree to escalate, the call is updateCase with _id=\"{case['_id']}\", "
        f"status=\"Escalated\" and expected_version={case.get('version')}."
    )


def _activity(ctx: ToolContext, args: dict[str, str]) -> str:
    case = _case(ctx, args["case"])
    return (
        f"Summarize the activity on {_named(case)}.\n\n"
        f'1. Call getCaseDetail with _id="{case["_id"]}" and include=["case", "comments", "activities", "scores"].\n\n'
        "Answer with: a timeline (oldest first, times in UTC) of every status, severity, assignee, tag and "
        "resolution change and every comment, each with who made it; how the score moved; and where the case "
        "stands now and what is still open.\n\n" + NO_WRITES
    )


def _alerts(ctx: ToolContext, args: dict[str, str]) -> str:
    case = _case(ctx, args["case"])
    return (
        f"Review the alerts of {_named(case)}.\n\n"
        f'1. Call getCaseAlerts with _id="{case["_id"]}" and limit=50; page with next_cursor until you have all.\n'
        "2. Call getAlertDetail (by stellar_uuid) for the most severe alert of each MITRE ATT&CK technique, and "
        "for any alert that looks unlike the others.\n\n"
        "Answer with: the alerts grouped by tactic and technique (count, first and last time, source and "
        "destination hosts); the likely sequence of the attack; duplicates and likely false positives with the "
        "reason; and the hosts or users to look at next.\n\n" + NO_WRITES
    )


def _handling(ctx: ToolContext, args: dict[str, str]) -> str:
    case = _case(ctx, args["case"])
    return (
        f"Help me update the handling of {_named(case)}.\n\n"
        f'1. Call getCaseDetail with _id="{case["_id"]}" and include=["case", "assignees", "activities"].\n'
        "2. Show me its status, severity, assignee, tags and resolution, and the users it may be assigned to.\n"
        "3. Ask me what to change. Allowed values: status " + ", ".join(STATUSES) + "; severity "
        + ", ".join(SEVERITIES) + "; resolution (only with status Resolved) False Positive, Benign or True "
        "Positive; an assignee from the list.\n"
        f'4. Only after I confirm the exact change, call updateCase with _id="{case["_id"]}" and '
        "expected_version set to the version getCaseDetail returned; if it answers that the case changed "
        "meanwhile, read it again and ask me again.\n"
        "5. Then offer to note the reason with addCaseComment, and add it only if I say yes.\n\n"
        "Answer with the case as it is after the change, and the changes made."
    )


# --- completion ----------------------------------------------------------------------------------------
def _complete_case(ctx: ToolContext, value: str) -> list[str]:
    """"1300 Phishing wave" values: by ticket number prefix (ranges of the ticket index), else by name
    words (the search index)."""
    value = value.strip().lstrip("#")
    scope = ctx.principal.tenants
    if not value:  # the latest cases
        cases = backend().list_cases(scope, CaseQuery(sort="created_at", order="desc", limit=MAX_COMPLETIONS)).items
    elif value.isdigit():
        cases = []
        # The ticket numbers that start with `value`: value, value0-value9, value00-value99, ... up to the
        # largest ticket number, each range one lookup on the ticket index.
        for width in (10**extra for extra in range(11 - min(len(value), 10))):
            low, high = int(value) * width, min((int(value) + 1) * width - 1, MAX_TICKET_ID)
            if low > MAX_TICKET_ID or len(cases) >= MAX_COMPLETIONS:
                break
            query = CaseQuery(ticket_from=low, ticket_to=high, sort="ticket_id", order="asc",
                              limit=MAX_COMPLETIONS - len(cases))
            cases += backend().list_cases(scope, query).items
    else:
        cases = backend().list_cases(scope, CaseQuery(search=value[:200], sort="created_at", order="desc",
                                                       limit=MAX_COMPLETIONS)).items
    return [f"{c['ticket_id']} {c['name']}"[:120] for c in cases]


def _complete_tenant(ctx: ToolContext, value: str) -> list[str]:
    wanted = value.strip().lower()
    names = [str(t.get("cust_name") or t["cust_id"]) for t in backend().list_tenants(ctx.principal.tenants)]
    return sorted(n for n in names if n.lower().startswith(wanted))


def _complete_severity(ctx: ToolContext, value: str) -> list[str]:
    return [s for s in SEVERITIES if s.lower().startswith(value.strip().lower())]


def _complete_assignee(ctx: ToolContext, value: str) -> list[str]:
    words = [w for w in ("me", "none") if w.startswith(value.strip().lower())]
    return words + usernames_within(ctx.principal.tenants, value.strip(), limit=MAX_COMPLETIONS - len(words))


PROMPTS = {prompt.name: prompt for prompt in (
    Prompt("triage_open_cases", "Triage open cases",
           "List the open cases (optionally of one tenant, severity or assignee), most severe first, with what "
           "happened and the next step for the top five.",
           [{"name": "tenant", "description": "A tenant's name (listTenant); all of yours if empty."},
            {"name": "severity", "description": "Critical, High, Medium or Low (comma-separated)."},
            {"name": "assignee", "description": "A username, 'me' or 'none' (unassigned)."}],
           _triage, completions={"tenant": _complete_tenant, "severity": _complete_severity,
                                 "assignee": _complete_assignee}),
    Prompt("review_case_before_escalation", "Review a case before escalation",
           "Weigh the evidence of one case (alerts, MITRE ATT&CK, observables, scores, AI summary) and recommend "
           "whether to escalate it.", [CASE_ARGUMENT], _escalation, completions={"case": _complete_case}),
    Prompt("summarize_case_activity", "Summarize case activity",
           "A timeline of one case's changes and comments, who made them, and where it stands.",
           [CASE_ARGUMENT], _activity, completions={"case": _complete_case}),
    Prompt("review_case_alerts", "Review a case's alerts",
           "Group one case's alerts by tactic and technique, reconstruct the sequence, and flag duplicates and "
           "likely false positives.", [CASE_ARGUMENT], _alerts, completions={"case": _complete_case}),
    Prompt("update_case_handling", "Update case handling",
           "Change one case's status, severity, assignee, tags or resolution, confirming each change with you "
           "first.", [CASE_ARGUMENT], _handling, writes=True, completions={"case": _complete_case}),
)}


def visible_to(ctx: ToolContext) -> list[Prompt]:
    return [p for p in PROMPTS.values() if ctx.principal.can_write or not p.writes]


def get_prompt(ctx: ToolContext, name: str, arguments: dict[str, str]) -> dict[str, Any]:
    """The prompts/get result, or ToolError saying what to fix."""
    prompt = PROMPTS.get(name)
    if prompt is None or prompt not in visible_to(ctx):
        raise ToolError(f"Unknown prompt: {name[:64]}. prompts/list shows the prompts this key may use.")
    known = {a["name"] for a in prompt.arguments}
    unknown = sorted(set(arguments) - known)
    if unknown:
        raise ToolError(f"{name} has no argument {unknown[0][:40]!r} (it takes: {', '.join(sorted(known)) or 'none'}).")
    for argument in prompt.arguments:
        if argument.get("required") and not str(arguments.get(argument["name"]) or "").strip():
            raise ToolError(f"{name} needs the argument {argument['name']!r}: {argument['description']}")
    text = prompt.build(ctx, {k: str(v) for k, v in arguments.items()})
    return {"description": prompt.description, "messages": [{"role": "user", "content": {"type": "text", "text": text}}]}


def complete(ctx: ToolContext, prompt_name: str, argument: str, value: str) -> list[str]:
    prompt = PROMPTS.get(prompt_name)
    if prompt is None or prompt not in visible_to(ctx):
        raise ToolError(f"Unknown prompt: {prompt_name[:64]}.")
    completer = prompt.completions.get(argument)
    if completer is None:
        if argument not in {a["name"] for a in prompt.arguments}:
            raise ToolError(f"{prompt_name} has no argument {argument[:40]!r}.")
        return []
    return completer(ctx, value[:200])[:MAX_COMPLETIONS]
