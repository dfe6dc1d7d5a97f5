"""Builds the unsaved model instances of one demo case and everything that hangs off it.

All randomness comes from the `random.Random` handed in, and all times are millisecond offsets from a
`now_ms` handed in, so a seed and a `now` fully determine the output.
"""

from __future__ import annotations

from random import Random
from typing import Any

from django.contrib.auth.models import AbstractUser

from cases.backend.serializers import user_display_name
from cases.models import Case
from tenants.models import Tenant

from . import catalog as c
from . import mitre as m
from .alerts import build_alerts
from .records import (
    DAY,
    HOUR,
    MINUTE,
    ActivityRow,
    AlertRow,
    CaseBundle,
    CaseTagRow,
    CommentRow,
    ObservableRow,
    ScoreHistoryRow,
    TenantProfile,
    dt,
    hex_id,
    iso,
)

SEVERITIES = ("Critical", "High", "Medium", "Low")
# Case score band per severity (Stellar: >= 75 critical, 50-74.99 high).
SCORE_BANDS = {"Critical": (75.0, 100.0), "High": (50.0, 74.9), "Medium": (25.0, 49.9), "Low": (3.0, 24.9)}
SCENARIO_CUM_WEIGHTS = tuple(sum(s.weight for s in c.SCENARIOS[: i + 1]) for i in range(len(c.SCENARIOS)))


def make_tenant(rng: Random, *, number: int, now_ms: int, days: int) -> TenantProfile:
    base = c.TENANT_NAMES[(number - 1) % len(c.TENANT_NAMES)]
    name = base if number <= len(c.TENANT_NAMES) else f"{base} {(number - 1) // len(c.TENANT_NAMES) + 1}"
    slug = "".join(ch for ch in name.lower() if ch.isalnum())
    domain = f"{slug}.com"
    office = rng.choice(c.OFFICE_GEOS)
    tenant = Tenant(
        cust_id=hex_id(rng, 32),
        cust_name=name,
        tgrp_name=rng.choice(c.TENANT_GROUPS),
        created_at=dt(now_ms - (days + rng.randint(30, 720)) * DAY),
        attributes={
            "address": f"{rng.randint(10, 9999)} Main Street, {office[0]}, {office[2]}",
            "contact": f"soc@{domain}",
            "org_id": hex_id(rng, 32),
            "domain": domain,
        },
    )
    employees = sorted({f"{rng.choice(c.FIRST_NAMES)}.{rng.choice(c.LAST_NAMES)}" for _ in range(60)})
    return TenantProfile(tenant, number, domain, 20 + (number - 1) % 200, office, employees)


class CaseFactory:
    """Turns (ticket id, creation time, alert count) into a complete, internally consistent case."""

    def __init__(
        self, rng: Random, *, now_ms: int, profiles: list[TenantProfile], admin: AbstractUser
    ) -> None:
        self.rng = rng
        self.now_ms = now_ms
        self.profiles = profiles
        self.admin = admin
        # Bigger customers have more cases.
        self.tenant_cum_weights = []
        total = 0
        for p in profiles:
            total += rng.randint(1, 5)
            self.tenant_cum_weights.append(total)

    # --- entities -------------------------------------------------------------------------------
    def _workstation(self, p: TenantProfile) -> tuple[str, str]:
        n = self.rng.randint(1, 399)
        return f"WS-{n:03d}", f"10.{p.net}.{10 + n // 200}.{n % 200 + 10}"

    def _server(self, p: TenantProfile) -> tuple[str, str]:
        i = self.rng.randrange(len(c.SERVERS))
        return c.SERVERS[i], f"10.{p.net}.1.{10 + i}"

    def _external(self) -> tuple[str, dict[str, Any]]:
        city, cc, country, region, lat, lon, octets = self.rng.choice(c.ATTACKER_GEOS)
        r = self.rng
        ip = f"{r.choice(octets)}.{r.randint(1, 254)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        return ip, {"city": city, "countryCode": cc, "countryName": country, "region": region,
                    "latitude": lat, "longitude": lon}

    def _domain(self) -> str:
        r = self.rng
        return f"{r.choice(c.DOMAIN_WORDS_A)}-{r.choice(c.DOMAIN_WORDS_B)}.{r.choice(c.DOMAIN_TLDS)}"

    # --- the case -------------------------------------------------------------------------------
    def build(self, *, ticket_id: int, created_ms: int, size: int) -> CaseBundle:
        r = self.rng
        p = self.profiles[r.choices(range(len(self.profiles)), cum_weights=self.tenant_cum_weights)[0]]
        sc = c.SCENARIOS[r.choices(range(len(c.SCENARIOS)), cum_weights=SCENARIO_CUM_WEIGHTS)[0]]
        severity = r.choices(SEVERITIES, weights=sc.severity_weights)[0]
        lo, hi = SCORE_BANDS[severity]
        score = round(r.uniform(lo, hi), 1)

        host, host_ip = self._server(p) if sc.on_server else self._workstation(p)
        # A server-side attack has no second machine; otherwise the server is where lateral movement lands.
        server, server_ip = (host, host_ip) if sc.on_server else self._server(p)
        ext_ip, ext_geo = self._external()
        user = r.choice(p.employees)
        ent = {
            "host": host, "server": server, "user": user, "ext_ip": ext_ip, "domain": self._domain(),
            "email": f"{r.choice(('billing', 'hr', 'it-support', 'no-reply', 'docusign'))}@{self._domain()}",
            "n": r.randint(1000, 99999), "vendor": "Proofpoint TAP",
            "others": "1 other" if size <= 2 else f"{size - 1} others",
        }
        ent["url"] = f"https://{ent['domain']}/" + r.choice(c.URL_PATHS).format(n=ent["n"])
        ent["file"] = r.choice(c.FILE_TEMPLATES).format(user=user.split(".")[0], n=ent["n"])
        ent["hash"] = hex_id(r, 64)
        ent["process"] = next((m.TECHNIQUES[t].processes[0] for t in sc.chain if m.TECHNIQUES[t].processes), "")

        start_ms = created_ms - r.randint(2 * MINUTE, 3 * HOUR)
        end_ms = min(self.now_ms - 1000, created_ms + r.randint(0, 6 * HOUR)) if size > 1 else start_ms
        name = r.choice(sc.names).format(**ent)

        tags = list(sc.tags)
        if r.random() < 0.25:
            extra = r.choice(c.EXTRA_TAGS)
            if extra not in tags:
                tags.append(extra)

        case = Case(
            stellar_id=hex_id(r, 24),
            ticket_id=ticket_id,
            tenant_id=p.tenant.pk,  # the id: cheaper than the object, which nothing here reads
            name=name,
            severity=severity,
            score=score,
            size=size,
            tags=tags,
            created_at=dt(created_ms),
            start_timestamp=dt(start_ms),
            end_timestamp=dt(end_ms),
        )
        bundle = CaseBundle(case)
        alert_status = self._workflow(bundle, p, sc, created_ms, ent)
        steps = self._steps(sc, size)
        bundle.alerts = build_alerts(r, p, steps=steps, status=alert_status, severity=severity, start_ms=start_ms,
                                     end_ms=end_ms, ent=ent, addresses=(host_ip, server_ip, ext_geo))
        techniques = [m.TECHNIQUES[t] for t in dict.fromkeys(steps or sc.chain)]
        lateral = any(t.kind == "internal" for t in techniques)
        case.summary = self._summary(techniques, user, host, server if lateral else None)
        bundle.tags = [CaseTagRow(t) for t in case.tags]
        bundle.scores = self._scores(case, bundle.alerts, start_ms, end_ms, techniques, ent)
        bundle.observables = self._observables(sc, bundle.alerts, start_ms, end_ms, ent, host_ip)
        if r.random() < 0.3:
            case.ai_summary = self._ai_summary(case, sc, techniques, bundle.alerts, start_ms, ent)
        case.refresh_derived_fields()
        return bundle

    def _steps(self, sc: c.Scenario, size: int) -> list[str]:
        """The technique of each alert, in attack order, covering the chain as far as the size allows."""
        n = len(sc.chain)
        if size >= n:
            extra = sorted(self.rng.choices(range(n), k=size - n))
            return [sc.chain[i] for i in sorted([*range(n), *extra])]
        return [sc.chain[i] for i in sorted(self.rng.sample(range(n), size))]

    @staticmethod
    def _summary(techniques: list[m.Technique], user: str, host: str, server: str | None) -> str:
        stages = list(dict.fromkeys(m.KILL_CHAIN_STAGE[t.tactic_id] for t in techniques))
        tactics = list(dict.fromkeys(t.tactic_name for t in techniques))
        names = [t.technique_name for t in techniques]
        hosts = [host] + ([server] if server and server != host else [])
        return (
            f"Observed {len(stages)} XDR Kill Chain Stages: {', '.join(stages)}\n"
            f"Observed {len(tactics)} tactics: {', '.join(tactics)}\n"
            f"Observed {len(names)} techniques: {', '.join(names)}\n"
            f"Involved 1 users: {user}\n"
            f"Involved {len(hosts)} hosts: {', '.join(hosts)}"
        )

    def _workflow(self, b: CaseBundle, p: TenantProfile, sc: c.Scenario, created_ms: int,
                  ent: dict[str, Any]) -> str:
        """Status, assignee, resolution, comments and the activities that led there; returns the alerts' status."""
        r = self.rng
        case = b.case
        age = self.now_ms - created_ms
        if age < 2 * HOUR:
            status = r.choices(("New", "In Progress", "Escalated"), weights=(70, 25, 5))[0]
        elif age < DAY:
            status = r.choices(("New", "In Progress", "Escalated", "Resolved", "Cancelled"),
                               weights=(45, 30, 8, 14, 3))[0]
        else:
            status = r.choices(("New", "In Progress", "Escalated", "Resolved", "Cancelled"),
                               weights=(22, 20, 7, 41, 10))[0]
        assignee = None
        if r.random() >= (0.5 if status == "New" else 0.04):
            assignee = p.analyst if (p.analyst and r.random() < 0.8) else self.admin
        actor = assignee or self.admin

        # Each change happens a little after the previous one, never in the future.
        clock = created_ms
        horizon = self.now_ms - 1000
        span = max(MINUTE, min(age, 3 * DAY) // 4)
        current = "New"

        def activity(field_: str, old: str, new: str, who: AbstractUser) -> None:
            nonlocal clock
            clock = min(horizon, clock + r.randint(MINUTE, 2 * HOUR))
            b.activities.append(ActivityRow(field_, old, new, who.pk, user_display_name(who), dt(clock)))

        def move(to: str) -> None:
            nonlocal current
            activity("status", current, to, actor)
            current = to

        if assignee:
            activity("assignee", "", assignee.username, self.admin)
        if status == "Cancelled":
            move("Cancelled")
            case.closed = dt(clock)
        elif status != "New":
            move("In Progress")
            if status == "Escalated" or (status == "Resolved" and r.random() < 0.2):
                move("Escalated")
            if r.random() < 0.15:
                activity("severity", r.choice([s for s in SEVERITIES if s != case.severity]), case.severity, actor)
            if status == "Resolved":
                clock = min(horizon, clock + r.randint(0, span))
                resolution = r.choices(
                    ("True Positive", "False Positive", "Benign"),
                    weights=(sc.true_positive_rate, (1 - sc.true_positive_rate) * 0.6, (1 - sc.true_positive_rate) * 0.4),
                )[0]
                move("Resolved")
                activity("resolution", "", resolution, actor)
                case.resolution = resolution
                case.resolution_note = r.choice(c.RESOLUTION_NOTES[resolution])
                case.closed = dt(clock)
                if resolution != "True Positive":
                    old_tags = ", ".join(case.tags)
                    case.tags.append("false-positive")
                    activity("tags", old_tags, ", ".join(case.tags), actor)
        if b.activities:
            case.acknowledged = b.activities[0].timestamp
            case.modified_by_id = b.activities[-1].user_id
            case.modified_by_name = b.activities[-1].user_name
        case.status = status
        case.assignee = assignee
        case.version = 1 + len(b.activities)

        weights = (40, 25, 18, 10, 7) if status != "New" else (75, 20, 5, 0, 0)
        comment_clock = created_ms
        for _ in range(r.choices((0, 1, 2, 3, 4), weights=weights)[0]):
            comment_clock = min(horizon, comment_clock + r.randint(5 * MINUTE, max(5 * MINUTE, span)))
            when = dt(comment_clock)
            b.comments.append(CommentRow(hex_id(r, 24), actor.pk, user_display_name(actor),
                                         r.choice(c.COMMENTS).format(**ent), when, when))
        case.modified_at = dt(max(created_ms, clock, comment_clock))
        return {"Resolved": "Closed", "Cancelled": "Closed", "New": "New"}.get(status, "In Progress")

    def _scores(self, case: Case, alerts: list[AlertRow], start_ms: int, end_ms: int,
                techniques: list[m.Technique], ent: dict[str, Any]) -> list[ScoreHistoryRow]:
        r = self.rng
        n = max(1, min(4, len(alerts)))
        points = sorted(r.randint(start_ms, max(start_ms, end_ms)) for _ in range(n))
        scores = sorted(round(case.score * f, 1) for f in [*(r.uniform(0.4, 0.95) for _ in range(n - 1)), 1.0])
        rows = []
        for i, (ts, score) in enumerate(zip(points, scores)):
            reasons = []
            if alerts:
                reasons.append({"reason": f"New alert added: {alerts[min(i, len(alerts) - 1)].name}"})
            t = techniques[min(i, len(techniques) - 1)]
            reasons.append({"reason": f"Kill chain stage observed: {m.KILL_CHAIN_STAGE[t.tactic_id]}"})
            if i == n - 1 and case.severity in ("Critical", "High"):
                reasons.append({"reason": f"Threat intelligence match on {ent['ext_ip']}"})
            rows.append(ScoreHistoryRow(score, dt(ts), reasons))
        return rows

    def _observables(self, sc: c.Scenario, alerts: list[AlertRow], start_ms: int, end_ms: int,
                     ent: dict[str, Any], host_ip: str) -> list[ObservableRow]:
        r = self.rng
        found: list[tuple[str, str]] = [("ip", ent["ext_ip"]), ("ip", host_ip), ("host", ent["host"]),
                                        ("user", ent["user"])]
        if sc.key in ("phishing", "ransomware", "c2", "cryptomining"):
            found += [("domain", ent["domain"]), ("url", ent["url"])]
        if sc.key in ("phishing", "ransomware"):
            found.append(("email", ent["email"]))
        if ent["process"]:
            found += [("process", ent["process"]), ("file", ent["file"]), ("hash", ent["hash"])]
        if any(m.TECHNIQUES[t].kind == "internal" for t in sc.chain):
            found.append(("host", ent["server"]))
        rows = []
        for kind, value in found:
            if not value:
                continue
            count = max(1, r.randint(1, max(1, len(alerts))))
            first = r.randint(start_ms, max(start_ms, end_ms))
            rows.append(ObservableRow(kind, value, count, dt(first), dt(r.randint(first, max(first, end_ms)))))
        return rows

    def _ai_summary(self, case: Case, sc: c.Scenario, techniques: list[m.Technique], alerts: list[AlertRow],
                    start_ms: int, ent: dict[str, Any]) -> dict[str, Any]:
        r = self.rng
        if case.resolution:
            verdict = "True Positive" if case.resolution == "True Positive" else "False Positive"
        else:
            verdict = "True Positive" if r.random() < sc.true_positive_rate else "False Positive"
        timeline = [{"time": iso(a.source["timestamp"]), "event": f"{a.name} on {ent['host']} "
                     f"({a.technique_id} {a.technique_name})"} for a in alerts[:6]]
        if not timeline:
            timeline = [{"time": iso(start_ms), "event": f"Case opened: {case.name}"}]
        entities = [{"type": "host", "value": ent["host"]}, {"type": "user", "value": ent["user"]},
                    {"type": "ip", "value": ent["ext_ip"]}]
        relations = [{"from": ent["user"], "to": ent["host"], "relation": "logged on to"},
                     {"from": ent["host"], "to": ent["ext_ip"], "relation": "communicated with"}]
        if sc.key in ("phishing", "ransomware", "c2", "cryptomining"):
            entities.append({"type": "domain", "value": ent["domain"]})
            relations.append({"from": ent["ext_ip"], "to": ent["domain"], "relation": "resolves from"})
        concise = (f"{case.severity} {sc.key.replace('_', ' ')} activity involving {ent['host']} and {ent['user']}; "
                   f"assessed as {verdict.lower()}.")
        return {
            "timeline": timeline,
            "hypothesis": {
                "text": sc.hypothesis.format(**ent),
                "mitre": [{"tactic_id": t.tactic_id, "tactic_name": t.tactic_name, "technique_id": t.technique_id,
                           "technique_name": t.technique_name} for t in techniques],
            },
            "key_entities": entities,
            "relations": relations,
            "recommendations": [rec.format(**ent) for rec in sc.recommendations],
            "concise_summary": concise,
            "verdict": verdict,
            "confidence": round(r.uniform(0.55, 0.98), 2),
            "triage_state": "Completed" if case.status in ("Resolved", "Cancelled") else
            r.choice(("Triaged", "Needs Analyst Review")),
            "generated_at": int(start_ms + 10 * MINUTE),
        }

