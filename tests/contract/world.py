"""The contract suite's world and fixtures: one contract for the backend interface, run against both
implementations: the embedded backend
directly, and the upstream backend over HTTP against a second live instance of this project serving the
Public API (gunicorn on another loopback port, reading the same test database).

Each test states what the interface must answer and, for the upstream backend, that the answer (or the
error type and message) is exactly the embedded backend's on the same data.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accounts.services import api_key_create
from cases.backend.embedded import EmbeddedBackend
from cases.backend.serializers import to_ms
from cases.models import Case
from tests.factories import (
    make_activity,
    make_alert,
    make_case,
    make_comment,
    make_observable,
    make_score,
    make_tenant,
    make_user,
    scope_for,
)

reference = EmbeddedBackend()
T0 = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)
AI = {"verdict": "True Positive", "concise_summary": "Phishing that led to a credential theft."}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def full_alert(case: Case, name: str, ts: datetime, *, tactic: tuple[str, str] = ("TA0001", "Initial Access"),
               **fields: Any):
    """An alert whose _source holds what the alert row denormalises (as seeded and real alerts do)."""
    uuid = secrets.token_hex(16)
    source = {
        "stellar_uuid": uuid, "tenantid": case.tenant.cust_id, "timestamp": to_ms(ts),
        "xdr_event": {"name": name.lower(), "display_name": name, "tactic": {"id": tactic[0], "name": tactic[1]},
                      "technique": {"id": "T1566", "name": "Phishing"}},
        "severity": 60, "event_score": 55, "event_status": "New", "srcip": "10.0.0.5", "dstip": "8.8.8.8",
    }
    return make_alert(case, stellar_uuid=uuid, timestamp=ts, name=name, source=source, tactic_id=tactic[0],
                      tactic_name=tactic[1], technique_id="T1566", technique_name="Phishing", severity=60,
                      event_score=55, event_status="New", srcip="10.0.0.5", dstip="8.8.8.8", **fields)


class World:
    def __init__(self) -> None:
        self.acme = make_tenant("Acme", tgrp_name="Group A", attributes={"contact": "soc@acme.test"})
        self.globex = make_tenant("Globex")
        self.ana = make_user("ana", tenants=[self.acme], first_name="Ana", last_name="Alves")
        self.bob = make_user("bob", tenants=[self.acme, self.globex], email="bob@corp.test")
        self.gus = make_user("gus", tenants=[self.globex])
        self.root = make_user("root", root=True)
        self.c1 = make_case(self.acme, name="Phishing email to finance", status="New", severity="Critical", score=90,
                            assignee=self.ana, tags=["phishing", "email"], created_at=at(0), modified_at=at(30),
                            summary="A user clicked the link\nObserved 1 tactics: Initial Access", ai_summary=AI,
                            size=7, acknowledged=at(5), start_timestamp=at(-10), end_timestamp=at(0))
        self.c2 = make_case(self.acme, name="Malware beacon", status="In Progress", severity="High", score=70.5,
                            assignee=self.bob, tags=["malware"], created_at=at(1), modified_at=at(10))
        self.c3 = make_case(self.acme, name="Port scan", status="Resolved", severity="Low", score=50,
                            created_at=at(2), modified_at=at(20), resolution="Benign", closed=at(20))
        self.c4 = make_case(self.acme, name="Odd login", status="Escalated", severity="Medium", score=50,
                            tags=["phishing"], created_at=at(3), modified_at=at(5))
        self.g1 = make_case(self.globex, name="Globex secret falcon", status="New", severity="Critical", score=95,
                            assignee=self.gus, tags=["phishing"], created_at=at(4), modified_at=at(4),
                            summary="zebraword")
        # Three cases inside one millisecond, and more score ties: pages must split ties the same way.
        self.ties = [make_case(self.acme, name=f"Burst {i}", score=50, created_at=at(6) + timedelta(microseconds=100 * i),
                               modified_at=at(6)) for i in range(3)]
        self.alerts = [full_alert(self.c1, f"Alert {i}", at(-i)) for i in range(6)]
        self.alerts.append(full_alert(self.c1, "Same instant", at(-2)))  # a timestamp tie
        self.shared_a = full_alert(self.c2, "Shared id A", at(1), es_id="shared-es-id")
        self.shared_b = full_alert(self.g1, "Shared id B", at(2), es_id="shared-es-id")
        self.g_alert = full_alert(self.g1, "Globex alert", at(4), ai_summary={"summary": "beacon"})
        for i in range(12):
            make_comment(self.c1, f"comment {i}", user=self.ana if i % 2 else None, at=at(i))
            make_activity(self.c1, "status", "New", "In Progress", user_name="System", timestamp=at(i))
            make_score(self.c1, 40 + i, timestamp=at(i), reasons=[{"reason": f"alert {i}"}])
        make_comment(self.c1, "same minute", at=at(3))  # a timestamp tie among comments
        make_observable(self.c1, "ip", "10.0.0.5", count=3, first_seen=at(-5), last_seen=at(0))
        make_observable(self.c1, "ip", "10.0.0.6", count=1, first_seen=at(-5), last_seen=at(0))
        make_observable(self.c1, "host", "WS-042", count=2, first_seen=at(-5), last_seen=at(0))
        self.acme_scope = scope_for(self.acme)
        self.globex_scope = scope_for(self.globex)
        self.key = api_key_create(user=self.root, name="gateway")[1]


def same_error(call, expected_call) -> Exception:
    """`call` raises what `expected_call` (the embedded backend) raises: same class, same message."""
    with pytest.raises(Exception) as expected:
        expected_call()
    with pytest.raises(type(expected.value)) as got:
        call()
    assert type(got.value) is type(expected.value)
    assert got.value.message == expected.value.message
    return got.value


def tickets(page) -> set[int]:
    return {c["ticket_id"] for c in page.items}


