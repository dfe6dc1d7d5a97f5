"""Property: for any data (with many ties), sort, order and page size, walking the keyset pages gives
exactly the one-shot ordering: every case once, in order, with the same total on every page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.backend.base import CaseQuery
from cases.backend.embedded import EmbeddedBackend
from cases.models import Case
from tests.factories import ROOT_SCOPE, SORT_KEYS, make_case, make_tenant, scope_for

pytestmark = pytest.mark.django_db

backend = EmbeddedBackend()
T0 = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)


case_rows = st.lists(
    st.tuples(
        st.sampled_from([0, 1, 2]),  # tenant
        st.integers(0, 3),  # created offset in ms: few values, many ties
        st.integers(0, 3),  # modified offset in µs (sub-millisecond ties)
        st.sampled_from([0.0, 12.5, 12.5000001, 99.9]),
        st.sampled_from(["Low", "Medium", "High", "Critical"]),
    ),
    max_size=14,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=case_rows,
    sort=st.sampled_from(list(SORT_KEYS)),
    order=st.sampled_from(["asc", "desc"]),
    limit=st.integers(1, 5),
    scoped=st.booleans(),
)
def test_pages_concatenate_to_the_full_ordering(rows, sort, order, limit, scoped) -> None:
    with transaction.atomic():
        tenants = [make_tenant(f"T{i}") for i in range(3)]
        for tenant_i, created_ms, modified_us, score, severity in rows:
            make_case(
                tenants[tenant_i],
                created_at=T0 + timedelta(milliseconds=created_ms),
                modified_at=T0 + timedelta(microseconds=modified_us),
                score=score,
                severity=severity,
            )
        scope = scope_for(tenants[0], tenants[2]) if scoped else ROOT_SCOPE
        visible = [c for c in Case.objects.select_related("tenant") if scope.allows(c.tenant.cust_id)]
        expected = [c.stellar_id for c in sorted(visible, key=lambda c: (SORT_KEYS[sort](c), c.pk), reverse=order == "desc")]

        walked: list[str] = []
        cursor = None
        for _ in range(len(expected) + 2):
            page = backend.list_cases(scope, CaseQuery(sort=sort, order=order, limit=limit, cursor=cursor))
            assert page.total == len(expected)
            assert len(page.items) <= limit
            walked += [item["_id"] for item in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert walked == expected
        transaction.set_rollback(True)
