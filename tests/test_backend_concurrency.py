"""updateCase under real concurrency: threads with their own database connections, committed data.

No lost update: every concurrent change lands and each one bumps `version` by exactly one; with the
same `expected_version`, exactly one writer wins and the others get a Conflict.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from cases.backend.base import CaseUpdate, Conflict
from cases.backend.embedded import EmbeddedBackend
from cases.models import Activity, Case, CaseTag
from tests.factories import make_case, make_tenant, make_user, scope_for

pytestmark = pytest.mark.django_db(transaction=True)

backend = EmbeddedBackend()
WRITERS = 8


def run_concurrently(work: Callable[[int], object]) -> list[object]:
    """Run work(0..WRITERS-1) in threads released together; returns each result or raised exception."""
    results: list[object] = [None] * WRITERS
    start = threading.Barrier(WRITERS)

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each writer got
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_concurrent_updates_all_land_and_versions_add_up() -> None:
    tenant = make_tenant("Acme")
    user = make_user("ana", tenants=[tenant])
    case = make_case(tenant)
    scope = scope_for(tenant)

    results = run_concurrently(
        lambda i: backend.update_case(scope, case.stellar_id, CaseUpdate(tags_add=(f"t{i}",)), actor=user)
    )

    assert all(isinstance(r, dict) for r in results), results
    case.refresh_from_db()
    assert case.version == 1 + WRITERS
    assert sorted(case.tags) == sorted(f"t{i}" for i in range(WRITERS))
    assert CaseTag.objects.filter(case=case).count() == WRITERS
    assert Activity.objects.filter(case=case, field="tags").count() == WRITERS
    assert sorted(r["case"]["version"] for r in results) == list(range(2, 2 + WRITERS))


def test_concurrent_updates_with_the_same_expected_version_one_wins() -> None:
    tenant = make_tenant("Acme")
    user = make_user("ana", tenants=[tenant])
    case = make_case(tenant, severity="Low")
    scope = scope_for(tenant)
    severities = ["Critical", "High", "Medium"]

    results = run_concurrently(
        lambda i: backend.update_case(
            scope, case.stellar_id, CaseUpdate(severity=severities[i % 3], tags_add=(f"t{i}",), expected_version=1), actor=user
        )
    )

    winners = [r for r in results if isinstance(r, dict)]
    assert len(winners) == 1, results
    assert all(isinstance(r, Conflict) and "version is now 2" in r.message for r in results if r is not winners[0])
    case = Case.objects.get(pk=case.pk)
    assert case.version == 2
    assert case.tags == winners[0]["case"]["tags"] and len(case.tags) == 1
    assert Activity.objects.filter(case=case).count() == 2  # severity and tags of the winner only
