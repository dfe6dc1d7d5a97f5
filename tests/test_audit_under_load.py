"""8 concurrent clients for 30 seconds against gunicorn (several workers): every tool call is answered
and leaves exactly one audit row, and concurrent updates lose nothing."""

from __future__ import annotations

from audit.models import PublicApiAccess
from cases.models import Activity, Case
from tests.load import make_load_world, run_mixed_load


def test_audit_rows_equal_tool_calls_under_concurrency(live_url):
    world = make_load_world()
    tally = run_mixed_load(live_url, world, clients=8, seconds=30)
    assert tally.failures == 0 and tally.dropped == 0
    assert tally.calls > 100
    assert PublicApiAccess.objects.count() == tally.calls
    assert PublicApiAccess.objects.exclude(outcome="success").count() == 0
    for case in world.update_cases:  # every effective change: one version and one activity row
        row = Case.objects.get(pk=case.pk)
        assert row.version - 1 == tally.changed.get(case.pk, 0) == Activity.objects.filter(case=case).count()
