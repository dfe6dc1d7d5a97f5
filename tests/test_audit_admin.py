"""The Activity Log in the admin: list, filters, search, read-only rules, export and dashboard."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from accounts.services import api_key_create
from audit import paginator as paginator_module
from audit.models import Outcome, PublicApiAccess, Source
from audit.recorder import AccessRecord, record_access
from stellar_mcp_site.db_router import audit_database
from tenants.models import Tenant

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:audit_publicapiaccess_changelist"
CASE_1 = "65f0c1d2e3f4a5b6c7d8e9f0"
CASE_2 = "75f0c1d2e3f4a5b6c7d8e9f1"


@pytest.fixture
def log(db):
    """A small Activity Log written through the recorder, keyed by a name per row."""
    users = get_user_model().objects
    alice, bob = users.create_user("alice"), users.create_user("bob")
    key_a, _ = api_key_create(user=alice, name="a")
    key_b, _ = api_key_create(user=bob, name="b")
    now = timezone.now()
    t1 = Tenant.objects.create(cust_name="Acme", created_at=now)
    t2 = Tenant.objects.create(cust_name="Globex", created_at=now)
    t3 = Tenant.objects.create(cust_name="Initech", created_at=now)
    rows = {
        "a_list": AccessRecord(user=alice, api_key=key_a, tool="listCases", endpoint="GET /connect/api/v1/cases",
                               outcome=Outcome.SUCCESS, tenant_ids=[t1.cust_id, t3.cust_id], duration_ms=4,
                               request_id="req-a-list", client_ip="10.0.0.1"),
        "a_update": AccessRecord(user=alice, api_key=key_a, tool="updateCase", endpoint="PUT /connect/api/v1/cases/{id}",
                                 outcome=Outcome.DENIED, tenant_ids=[t1.cust_id], case_ids=[CASE_1], http_status=200,
                                 error="This key is read-only.", client_ip="10.0.0.1"),
        "b_detail": AccessRecord(user=bob, api_key=key_b, tool="getCaseDetail", endpoint="GET /connect/api/v1/cases/{id}",
                                 outcome=Outcome.TOOL_ERROR, tenant_ids=[t2.cust_id], case_ids=[CASE_2], duration_ms=9),
        "b_rest": AccessRecord(user=bob, api_key=key_b, source=Source.REST, endpoint="GET /connect/api/v1/tenants",
                               outcome=Outcome.SUCCESS),
        "anon": AccessRecord(key_public_id="zzzzzzzzzzzz", tool="listCases", outcome=Outcome.UNAUTHENTICATED,
                             http_status=401, client_ip="198.51.100.9"),
    }
    ids = {}
    for name, rec in rows.items():
        record_access(rec)
        ids[name] = PublicApiAccess.objects.latest("id").pk
    old = PublicApiAccess.objects.get(pk=ids["b_rest"])
    PublicApiAccess.objects.filter(pk=old.pk).update(timestamp=datetime(2024, 1, 15, 10, 30, tzinfo=now.tzinfo))
    return {"ids": ids, "keys": (key_a, key_b), "tenants": (t1, t2, t3)}


def listed(response) -> set[int]:
    assert response.status_code == 200
    return {row.pk for row in response.context["cl"].result_list}


def names(log, *keys) -> set[int]:
    return {log["ids"][k] for k in keys}


def test_list_renders_every_row_with_its_columns(admin_client, log):
    response = admin_client.get(reverse(CHANGELIST))
    assert listed(response) == set(log["ids"].values())
    html = response.content.decode()
    for text in ("alice", "bob", log["keys"][0].public_id, "zzzzzzzzzzzz", "GET /connect/api/v1/cases", "198.51.100.9"):
        assert text in html
    assert "5 entries" in html


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"username": "alice"}, ("a_list", "a_update")),
        ({"username": "(none)"}, ("anon",)),
        ({"activity_type": "Public API access"}, ("a_list", "a_update", "b_detail", "b_rest", "anon")),
        ({"source__exact": "REST"}, ("b_rest",)),
        ({"tool": "listCases"}, ("a_list", "anon")),
        ({"outcome__exact": "denied"}, ("a_update",)),
        ({"outcome__exact": "unauthenticated"}, ("anon",)),
        ({"timestamp__year": "2024", "timestamp__month": "1", "timestamp__day": "15"}, ("b_rest",)),
        ({"q": "bob"}, ("b_detail", "b_rest")),
        ({"q": CASE_2}, ("b_detail",)),
        ({"q": CASE_2[:10]}, ()),  # exact values only: a part of an id finds nothing
        ({"q": "bo"}, ()),
        ({"q": "getCaseDetail"}, ("b_detail",)),
        ({"q": "zzzzzzzzzzzz"}, ("anon",)),
        ({"q": "req-a-list"}, ("a_list",)),
        ({"tool": "listCases", "outcome__exact": "success"}, ("a_list",)),
    ],
)
def test_each_filter_and_search(admin_client, log, query, expected):
    assert listed(admin_client.get(reverse(CHANGELIST), query)) == names(log, *expected)


def test_search_by_key_id(admin_client, log):
    key_b = log["keys"][1]
    assert listed(admin_client.get(reverse(CHANGELIST), {"q": key_b.public_id})) == names(log, "b_detail", "b_rest")


def test_tenant_filter_matches_whole_entries_and_lists_tenants(admin_client, log):
    t1, t2, t3 = log["tenants"]
    response = admin_client.get(reverse(CHANGELIST), {"tenant": t1.cust_id})
    assert listed(response) == names(log, "a_list", "a_update")
    assert "Globex" in response.content.decode()  # the lookups come from the Tenant table
    assert listed(admin_client.get(reverse(CHANGELIST), {"tenant": t3.cust_id})) == names(log, "a_list")
    assert listed(admin_client.get(reverse(CHANGELIST), {"tenant": t2.cust_id})) == names(log, "b_detail")
    assert listed(admin_client.get(reverse(CHANGELIST), {"tenant": t1.cust_id[:16]})) == set()


def test_user_filter_offers_key_owners(admin_client, log):
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "?username=alice" in html and "?username=bob" in html


def test_no_add_change_or_delete(admin_client, log):
    pk = log["ids"]["a_update"]
    assert admin_client.get(reverse("admin:audit_publicapiaccess_add")).status_code == 403
    assert admin_client.get(reverse("admin:audit_publicapiaccess_delete", args=[pk])).status_code == 403
    assert admin_client.post(reverse("admin:audit_publicapiaccess_delete", args=[pk]), {"post": "yes"}).status_code == 403
    change_url = reverse("admin:audit_publicapiaccess_change", args=[pk])
    response = admin_client.get(change_url)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="_save"' not in html and "<textarea" not in html
    for text in ("This key is read-only.", CASE_1, "updateCase", "alice", "10.0.0.1"):
        assert text in html
    assert admin_client.post(change_url, {"outcome": "success"}).status_code == 403
    assert PublicApiAccess.objects.get(pk=pk).outcome == "denied"
    assert PublicApiAccess.objects.count() == 5
    # No bulk delete either.
    actions = [value for value, _ in admin_client.get(reverse(CHANGELIST)).context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions


def _csv_ids(response) -> set[int]:
    body = b"".join(response.streaming_content).decode()
    reader = csv.DictReader(io.StringIO(body))
    rows = list(reader)
    assert "arguments" in reader.fieldnames and "request_id" in reader.fieldnames
    return {int(r["id"]) for r in rows}


def _jsonl_ids(response) -> set[int]:
    lines = b"".join(response.streaming_content).decode().splitlines()
    records = [json.loads(line) for line in lines]
    assert all("timestamp" in r and "tenant_ids" in r for r in records)
    return {r["id"] for r in records}


def test_export_of_the_filtered_list(admin_client, log):
    url_csv = reverse("admin:audit_publicapiaccess_export", args=["csv"])
    url_jsonl = reverse("admin:audit_publicapiaccess_export", args=["jsonl"])
    response = admin_client.get(url_csv, {"username": "alice", "outcome__exact": "denied"})
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert _csv_ids(response) == names(log, "a_update")
    assert _jsonl_ids(admin_client.get(url_jsonl, {"tool": "listCases"})) == names(log, "a_list", "anon")
    assert _jsonl_ids(admin_client.get(url_jsonl)) == set(log["ids"].values())
    assert admin_client.get(reverse("admin:audit_publicapiaccess_export", args=["xml"])).status_code == 400


def test_export_buttons_carry_the_current_filters(admin_client, log):
    html = admin_client.get(reverse(CHANGELIST), {"tool": "listCases", "p": "1"}).content.decode()
    assert reverse("admin:audit_publicapiaccess_export", args=["csv"]) + "?tool=listCases" in html


def test_export_actions_on_selected_rows(admin_client, log):
    selected = names(log, "a_list", "anon")
    for action, read in (("export_csv", _csv_ids), ("export_jsonl", _jsonl_ids)):
        response = admin_client.post(
            reverse(CHANGELIST), {"action": action, "_selected_action": [str(pk) for pk in selected], "index": "0"}
        )
        assert response.status_code == 200
        assert read(response) == selected


def test_jsonl_export_holds_every_field(admin_client, log):
    response = admin_client.get(reverse("admin:audit_publicapiaccess_export", args=["jsonl"]), {"q": "req-a-list"})
    [record] = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    model_fields = {f.attname if f.is_relation else f.name for f in PublicApiAccess._meta.fields}
    assert model_fields <= set(record)
    assert record["tenant_ids"] == [t.cust_id for t in (log["tenants"][0], log["tenants"][2])]


def test_dashboard_renders_charts_and_tables(admin_client, log):
    response = admin_client.get(reverse("admin:audit_publicapiaccess_dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="audit-chart"') == 7
    for text in (log["keys"][0].public_id, "alice", "getCaseDetail", "198.51.100.9", "Denied and unauthenticated"):
        assert text in html
    data = response.context["data"]
    assert data.total == 4  # the 2024 row is outside the last 7 days
    assert data.totals["denied"] == 1 and data.totals["unauthenticated"] == 1
    assert sum(data.hourly["success"]) == 1
    tools = {t["tool"]: t for t in data.tools}
    assert tools["listCases"]["calls"] == 2 and tools["getCaseDetail"]["median_ms"] == 9
    assert [r["client_ip"] for r in data.refused_top_ips] == ["10.0.0.1", "198.51.100.9"]


def test_dashboard_escapes_client_supplied_text(admin_client, db):
    record_access(AccessRecord(tool="<script>alert(1)</script>", outcome=Outcome.TOOL_ERROR))
    html = admin_client.get(reverse("admin:audit_publicapiaccess_dashboard")).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


def test_dashboard_linked_from_admin_index_and_changelist(admin_client, log):
    url = reverse("admin:audit_publicapiaccess_dashboard")
    assert url in admin_client.get(reverse("admin:index")).content.decode()
    assert url in admin_client.get(reverse(CHANGELIST)).content.decode()


def test_staff_without_view_permission_cannot_see_log_dashboard_or_export(client, log):
    staff = get_user_model().objects.create_user("staffer", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(reverse("admin:audit_publicapiaccess_dashboard")).status_code == 403
    assert client.get(reverse("admin:audit_publicapiaccess_export", args=["csv"])).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_publicapiaccess"))
    assert client.get(reverse("admin:audit_publicapiaccess_dashboard")).status_code == 200
    assert client.get(reverse(CHANGELIST)).status_code == 200


def test_count_is_capped_when_filtered_and_estimated_when_not(admin_client, log, monkeypatch):
    monkeypatch.setattr(paginator_module, "COUNT_CAP", 3)
    for _ in range(3):
        record_access(AccessRecord(tool="listTenant", outcome=Outcome.SUCCESS))
    if connections[audit_database()].vendor == "postgresql":
        with connections[audit_database()].cursor() as cursor:
            cursor.execute("ANALYZE audit_publicapiaccess")  # the estimate is the planner's statistics
    # Unfiltered: 8 rows, above the cap, estimated (SQLite: from the id range).
    response = admin_client.get(reverse(CHANGELIST))
    assert response.context["cl"].paginator.count_is_estimate
    assert "about 8 entries" in response.content.decode()
    # Filtered to 4 rows: counted up to the cap, then reported as a lower bound.
    response = admin_client.get(reverse(CHANGELIST), {"outcome__exact": "success"})
    assert response.context["cl"].paginator.count_is_capped
    assert "more than 3 entries" in response.content.decode()
    # Below the cap the count is exact.
    response = admin_client.get(reverse(CHANGELIST), {"outcome__exact": "denied"})
    assert "1 Public API access" in response.content.decode()


def test_recent_rows_first(admin_client, log):
    record_access(AccessRecord(tool="getTenantDetail", outcome=Outcome.SUCCESS))
    PublicApiAccess.objects.filter(tool="getTenantDetail").update(timestamp=timezone.now() + timedelta(minutes=1))
    rows = admin_client.get(reverse(CHANGELIST)).context["cl"].result_list
    assert rows[0].tool == "getTenantDetail" and rows[len(rows) - 1].pk == log["ids"]["b_rest"]


def test_dashboard_query_count_is_bounded(admin_client, log, django_assert_max_num_queries):
    for tool in ("listTenant", "getTenantDetail", "getAlertDetail", "getCaseAlerts"):
        for _ in range(3):
            record_access(AccessRecord(tool=tool, outcome=Outcome.SUCCESS))
    url = reverse("admin:audit_publicapiaccess_dashboard")
    assert admin_client.get(url).status_code == 200  # rolls up the hours that are over
    # Session and user (2), which hours are rolled up (1), their figures (2), five aggregates of the hours
    # not rolled up, one median sample per tool shown (at most 10).
    with django_assert_max_num_queries(2 + 1 + 2 + 5 + 10):
        assert admin_client.get(url).status_code == 200


def test_date_hierarchy_offers_the_log_range_without_scanning_it(admin_client, log):
    from django.test.utils import CaptureQueriesContext

    this_year = timezone.localtime().year
    with CaptureQueriesContext(connections[audit_database()]) as queries:
        html = admin_client.get(reverse(CHANGELIST)).content.decode()
    for year in range(2024, this_year + 1):
        assert f"?timestamp__year={year}" in html
    assert not any("DISTINCT" in q["sql"] and "timestamp" in q["sql"] for q in queries.captured_queries)
    html = admin_client.get(reverse(CHANGELIST), {"timestamp__year": "2024"}).content.decode()
    assert "timestamp__month=1&amp;timestamp__year=2024" in html and "timestamp__month=2&amp;" not in html
    html = admin_client.get(reverse(CHANGELIST), {"timestamp__year": "2024", "timestamp__month": "1"}).content.decode()
    assert "timestamp__day=15&amp;" in html and "timestamp__day=14&amp;" not in html


def test_facet_counts_are_never_computed(admin_client, log):
    response = admin_client.get(reverse(CHANGELIST), {"_facets": "True"})
    assert listed(response) == set(log["ids"].values())
    assert "(1)" not in response.content.decode().split('id="changelist-filter"')[1]


def test_search_finds_a_case_id_among_several_but_not_a_part_of_one(admin_client, log):
    row = PublicApiAccess.objects.create(timestamp=timezone.now(), outcome=Outcome.SUCCESS, tool="listCases",
                                         case_ids=f"{CASE_1},{CASE_2},abc")
    for term in (CASE_1, CASE_2, "abc"):
        assert row.pk in listed(admin_client.get(reverse(CHANGELIST), {"q": term}))
    assert row.pk not in listed(admin_client.get(reverse(CHANGELIST), {"q": "ab"}))
    assert row.pk not in listed(admin_client.get(reverse(CHANGELIST), {"q": f"{CASE_1},{CASE_2}"}))
