"""The data the embedded backend's tests share: three tenants' cases, alerts and users at fixed times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cases.backend.embedded import EmbeddedBackend
from tests.factories import (
    make_case,
    make_tenant,
    make_user,
    scope_for,
)

backend = EmbeddedBackend()
T0 = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)


def ms(value: datetime) -> int:
    return int((value - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(milliseconds=1))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ids(page) -> list[str]:
    return [item["_id"] for item in page.items]


class World:
    """Two tenants. Acme: c1..c4; Globex: g1 (words only Globex has: 'falcon', 'zebraword')."""

    def __init__(self) -> None:
        self.acme = make_tenant("Acme", tgrp_name="Group A")
        self.globex = make_tenant("Globex")
        self.ana = make_user("ana", tenants=[self.acme], first_name="Ana", last_name="Alves")
        self.bob = make_user("bob", tenants=[self.acme, self.globex], email="bob@corp.test")
        self.gus = make_user("gus", tenants=[self.globex])
        self.root = make_user("root", root=True, email="root@corp.test")
        self.ghost = make_user("ghost", tenants=[self.acme], is_active=False)
        self.c1 = make_case(
            self.acme, name="Phishing email to finance", status="New", severity="Critical", score=90,
            assignee=self.ana, tags=["phishing", "email"], created_at=at(0), modified_at=at(30),
            summary="A user clicked the link",
        )
        self.c2 = make_case(
            self.acme, name="Malware beacon", status="In Progress", severity="High", score=70,
            assignee=self.bob, tags=["malware"], created_at=at(1), modified_at=at(10),
        )
        self.c3 = make_case(
            self.acme, name="Port scan", status="Resolved", severity="Low", score=10, tags=[],
            created_at=at(2), modified_at=at(20), resolution="Benign",
        )
        self.c4 = make_case(
            self.acme, name="Odd login", status="Escalated", severity="Medium", score=50, tags=["phishing"],
            created_at=at(3), modified_at=at(5),
        )
        self.g1 = make_case(
            self.globex, name="Globex secret falcon incident", status="New", severity="Critical", score=95,
            assignee=self.gus, tags=["phishing"], created_at=at(4), modified_at=at(4), summary="zebraword",
        )
        self.acme_scope = scope_for(self.acme)
        self.globex_scope = scope_for(self.globex)

    def label(self, case_id: str) -> str:
        for name in ("c1", "c2", "c3", "c4", "g1"):
            if getattr(self, name).stellar_id == case_id:
                return name
        return case_id
