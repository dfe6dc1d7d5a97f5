"""listCases through the official client over gunicorn: filters, default window, sorting, paging."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import api_key_create
from cases.backend import cursor as cursors
from cases.backend import sqlite_plan
from cases.models import Case, build_search_text
from tests.factories import make_case, make_tenant, make_user
from tests.mcp_helpers import McpSession, call_tool, structured

HOUR = timedelta(hours=1)


def ms(dt) -> int:
    return int(dt.timestamp() * 1000)


@pytest.fixture
def world(live_url):
    now = timezone.now()
    acme, globex = make_tenant("Acme"), make_tenant("Globex")
    alice = make_user("alice", tenants=[acme], email="alice@acme.test", first_name="Alice", last_name="Ng")
    bob = make_user("bob", tenants=[acme, globex], email="bob@acme.test")
    cases = {
        "ransom": make_case(acme, name="Ransomware: Data Encrypted for Impact on WS-042", severity="Critical",
                            score=95, status="New", tags=["ransomware", "endpoint"], assignee=alice,
                            created_at=now - 1 * HOUR, summary="Observed 2 tactics: Impact"),
        "phish": make_case(acme, name="Phishing wave", severity="High", score=70, status="In Progress",
                           tags=["phishing", "email"], assignee=bob, created_at=now - 2 * HOUR),
        "scan": make_case(acme, name="Port scan", severity="Low", score=12, status="Resolved", resolution="Benign",
                          tags=["recon"], created_at=now - 3 * HOUR),
        "old": make_case(acme, name="Old ransomware case", severity="Critical", score=99, status="New",
                         tags=["ransomware"], created_at=now - 72 * HOUR, modified_at=now - 30 * HOUR),
        "globex": make_case(globex, name="Globex lateral movement", severity="Medium", score=50,
                            status="Escalated", assignee=bob, created_at=now - 4 * HOUR),
    }
    root = make_user("soc-admin", root=True)
    key = api_key_create(user=root, name="root")[1]
    alice_key = api_key_create(user=alice, name="alice")[1]
    return {"now": now, "acme": acme, "globex": globex, "cases": cases, "key": key, "alice_key": alice_key,
            "url": f"{live_url}/mcp/"}


@pytest.fixture
def mcp(world):
    with McpSession(world["url"], world["key"]) as session:
        yield session


def ticket_ids(result) -> set[int]:
    return {c["ticket_id"] for c in result["cases"]}


def tids(world, *names) -> set[int]:
    return {world["cases"][n].ticket_id for n in names}


def test_default_window_is_the_last_24_hours(world, mcp):
    result = mcp.ok("listCases")
    assert ticket_ids(result) == tids(world, "ransom", "phish", "scan", "globex")
    assert result["total"] == 4 and result["next_cursor"] is None
    window = result["applied_filters"]["default_window"]
    assert window["created_at_to"] - window["created_at_from"] == 24 * 3600 * 1000
    assert abs(window["created_at_to"] - time.time() * 1000) < 60_000


def test_case_fields(world, mcp):
    case = next(c for c in mcp.ok("listCases")["cases"] if c["ticket_id"] == world["cases"]["ransom"].ticket_id)
    assert case["_id"] == world["cases"]["ransom"].stellar_id
    assert case["assignee"] == "alice" and case["assignee_name"] == "Alice Ng"
    assert case["cust_id"] == world["acme"].cust_id and case["tenant_name"] == "Acme"
    assert case["severity"] == "Critical" and case["score"] == 95 and case["version"] == 1
    assert case["created_at_iso"].startswith(world["now"].strftime("%Y-"))
    assert "resolution" not in case
    scan = next(c for c in mcp.ok("listCases")["cases"] if c["ticket_id"] == world["cases"]["scan"].ticket_id)
    assert scan["resolution"] == "Benign"


@pytest.mark.parametrize("arguments, expected", [
    ({"status": "New"}, ["ransom"]),
    ({"status": ["New", "In Progress"]}, ["ransom", "phish"]),
    ({"status": "new, in progress"}, ["ransom", "phish"]),
    ({"status": "Open"}, ["ransom", "phish", "globex"]),
    ({"severity": "Critical"}, ["ransom"]),
    ({"severity": ["High", "Low"]}, ["phish", "scan"]),
    ({"assignee": "alice"}, ["ransom"]),
    ({"assignee": "BOB@acme.test"}, ["phish", "globex"]),
    ({"assignee": "none"}, ["scan"]),
    ({"name": "phish"}, ["phish"]),
    ({"tags": "email,recon"}, ["phish", "scan"]),
    ({"tags": ["ransomware"]}, ["ransom"]),
    ({"min_score": 60}, ["ransom", "phish"]),
    ({"search": "ransomware"}, ["ransom"]),
    ({"search": "impact tactics"}, ["ransom"]),
    ({"search": "bob"}, ["phish", "globex"]),
    ({"severity": "Critical", "status": "Open", "min_score": 90}, ["ransom"]),
])
def test_filters_combine_with_the_default_window(world, mcp, arguments, expected):
    result = mcp.ok("listCases", arguments)
    assert ticket_ids(result) == tids(world, *expected)
    assert result["total"] == len(expected)
    assert "default_window" in result["applied_filters"]


def test_search_by_ticket_id(world, mcp):
    ticket = world["cases"]["phish"].ticket_id
    assert ticket_ids(mcp.ok("listCases", {"search": str(ticket)})) == {ticket}


def test_tenant_filter(world, mcp):
    result = mcp.ok("listCases", {"cust_id": world["globex"].cust_id})
    assert ticket_ids(result) == tids(world, "globex")


def test_assigned_to_me_is_the_key_owner(world):
    with McpSession(world["url"], world["alice_key"]) as session:
        assert ticket_ids(session.ok("listCases", {"assignee": "me"})) == tids(world, "ransom")


def test_explicit_range_replaces_the_default(world, mcp):
    now = world["now"]
    result = mcp.ok("listCases", {"created_at_from": ms(now - 100 * HOUR), "created_at_to": ms(now),
                                  "search": "ransomware"})
    assert ticket_ids(result) == tids(world, "ransom", "old")
    assert "default_window" not in result["applied_filters"]
    result = mcp.ok("listCases", {"modified_at_from": ms(now - 31 * HOUR), "modified_at_to": ms(now - 29 * HOUR)})
    assert ticket_ids(result) == tids(world, "old")


@pytest.mark.parametrize("arguments, words", [
    ({"created_at_from": 1_700_000_000_000}, "created_at_to is missing: give both bounds in epoch milliseconds"),
    ({"created_at_to": 1_700_000_000_000}, "created_at_from is missing"),
    ({"modified_at_from": 1_700_000_000_000}, "modified_at_to is missing"),
    ({"created_at_from": 1_700_000_000, "created_at_to": 1_700_086_400}, "look like seconds"),
    ({"created_at_from": 1_800_000_000_000, "created_at_to": 1_700_000_000_000}, "swap them"),
    ({"status": "Open-ish"}, "status"),
    ({"severity": "Urgent"}, "severity"),
    ({"sort": "name"}, "sort"),
    ({"limit": 101}, "limit"),
    ({"limit": 0}, "limit"),
    ({"min_score": 101}, "min_score"),
    ({"cust_id": "acme"}, "listTenant"),
    ({"tenant": "x"}, "unknown argument 'tenant'"),
    ({"cursor": "forged"}, "cursor is invalid"),
])
def test_argument_errors_are_actionable(mcp, arguments, words):
    message = mcp.fails("listCases", arguments)
    assert words in message
    assert message.endswith(".")


@pytest.mark.parametrize("sort, key", [
    ("created_at", lambda c: c["created_at"]),
    ("modified_at", lambda c: c["modified_at"]),
    ("score", lambda c: c["score"]),
    ("ticket_id", lambda c: c["ticket_id"]),
    ("severity", lambda c: {"Low": 1, "Medium": 2, "High": 3, "Critical": 4}[c["severity"]]),
])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_sorting(mcp, sort, key, order):
    cases = mcp.ok("listCases", {"sort": sort, "order": order})["cases"]
    values = [key(c) for c in cases]
    assert values == sorted(values, reverse=order == "desc") and len(values) == 4


def test_cursor_paging_is_stable_while_cases_are_added(world, mcp):
    acme = world["acme"]
    for i in range(7):
        make_case(acme, name=f"Bulk {i}", created_at=world["now"] - timedelta(minutes=5 + i))
    seen: list[int] = []
    page = mcp.ok("listCases", {"limit": 3})
    total = page["total"]
    while True:
        seen.extend(c["ticket_id"] for c in page["cases"])
        # A new case arrives between pages: it is newer than everything listed so far, so it must
        # not appear later in this listing nor push anything onto the next page twice.
        make_case(acme, name="Arrived meanwhile", created_at=timezone.now())
        if page["next_cursor"] is None:
            break
        page = mcp.ok("listCases", {"limit": 3, "cursor": page["next_cursor"]})
    assert len(seen) == len(set(seen)) == total == 11


def test_cursor_belongs_to_its_query(mcp, world):
    first = mcp.ok("listCases", {"limit": 1})
    assert first["next_cursor"]
    message = mcp.fails("listCases", {"limit": 1, "severity": "High", "cursor": first["next_cursor"]})
    assert "cursor is invalid or belongs to a different query" in message
    tampered = first["next_cursor"][:-3] + ("aaa" if not first["next_cursor"].endswith("aaa") else "bbb")
    assert "cursor is invalid" in mcp.fails("listCases", {"limit": 1, "cursor": tampered})
    # Signed with the server's key (the live server shares the test's SECRET_KEY) but of the wrong shape:
    # a clear error, not a crash.
    for value in ([1, 2], {"b": "x"}, "x", {"b": "x", "w": [1, 2]}):
        forged = cursors.sign("mcp.listCases.cursor", value)
        assert "cursor is invalid" in mcp.fails("listCases", {"limit": 1, "cursor": forged})


def test_a_foreign_cursor_is_refused(world, mcp):
    first = mcp.ok("listCases", {"limit": 1})
    with McpSession(world["url"], world["alice_key"]) as alice:
        assert "cursor is invalid" in alice.fails("listCases", {"limit": 1, "cursor": first["next_cursor"]})


def test_default_page_stays_small(world, mcp):
    import json

    acme = world["acme"]
    for i in range(25):
        # Names and tags the length of real ones ("Proofpoint TAP messagesBlocked: Phishing and 1 other").
        make_case(acme, name=f"Suspicious PowerShell execution on WS-{i:03d} and 2 others",
                  tags=["powershell", "T1059"], created_at=world["now"] - timedelta(minutes=i))
    result = mcp.ok("listCases")
    assert len(result["cases"]) == 20
    # A default page aims at ~8 KB; the fields each case carries (ISO twins, cust_id and tenant_name
    # included) come to ~450 bytes, so a full default page of 20 is just under 10 KB.
    assert len(json.dumps(result, separators=(",", ":"))) < 10 * 1024


def test_a_common_searchs_total_follows_an_update_in_every_worker(world, mcp):
    """Each worker keeps the count of a common text's matches between calls (cases/backend/text_matches.py
    on SQLite). An update made through the endpoint changes the total every worker gives next, each call
    on a new connection, so on any worker."""
    now, n = world["now"], sqlite_plan.COMMON_MATCHES
    Case.objects.bulk_create([
        Case(tenant=world["acme"], ticket_id=40_000 + i, name=f"Beacon to c2-host-{i}", created_at=now - HOUR,
             modified_at=now, search_text=build_search_text(40_000 + i, f"Beacon to c2-host-{i}", [], "", ""))
        for i in range(n)
    ])
    every = {"search": "c2-host", "created_at_from": ms(now - 100 * HOUR), "created_at_to": ms(now + HOUR)}

    def totals() -> list[int]:
        return [structured(call_tool(world["url"], world["key"], "listCases", every))["total"] for _ in range(6)]

    assert totals() == [n] * 6
    mcp.ok("updateCase", {"_id": world["cases"]["phish"].stellar_id, "tags": {"add": ["c2-host-lookalike"]}})
    assert totals() == [n + 1] * 6
    Case.objects.filter(ticket_id=40_000).delete()
    assert totals() == [n] * 6


# --- times as a model writes them ----------------------------------------------------------------------
def test_iso_dates_and_date_times_are_ranges_echoed_in_both_forms(world, mcp):
    now = world["now"]
    start, end = now - 100 * HOUR, now
    by_ms = mcp.ok("listCases", {"created_at_from": ms(start), "created_at_to": ms(end)})
    iso_z = {"created_at_from": start.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
             "created_at_to": end.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}
    by_iso = mcp.ok("listCases", iso_z)
    assert ticket_ids(by_iso) == ticket_ids(by_ms) == tids(world, "ransom", "phish", "scan", "old", "globex")
    applied = by_iso["applied_filters"]
    assert (applied["created_at_from"], applied["created_at_to"]) == (ms(start), ms(end))
    assert (applied["created_at_from_iso"], applied["created_at_to_iso"]) == (iso_z["created_at_from"],
                                                                            iso_z["created_at_to"])
    # The same instant with an offset.
    shifted = (start + 2 * HOUR).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+02:00"
    offset = mcp.ok("listCases", {"created_at_from": shifted, "created_at_to": iso_z["created_at_to"]})
    assert offset["applied_filters"]["created_at_from"] == ms(start)
    # A date alone is the whole UTC day: "created today".
    today = now.strftime("%Y-%m-%d")
    day = mcp.ok("listCases", {"created_at_from": today, "created_at_to": today})["applied_filters"]
    assert day["created_at_from_iso"] == f"{today}T00:00:00.000Z" and day["created_at_to_iso"] == f"{today}T23:59:59.999Z"
    # Epoch milliseconds as a string are epoch milliseconds.
    assert ticket_ids(mcp.ok("listCases", {"created_at_from": str(ms(start)), "created_at_to": str(ms(end))})) == \
        ticket_ids(by_ms)


@pytest.mark.parametrize("within, names", [
    ("90m", ["ransom"]),
    ("150m", ["ransom", "phish"]),
    ("5h", ["ransom", "phish", "scan", "globex"]),
    ("4d", ["ransom", "phish", "scan", "old", "globex"]),
    ("1w", ["ransom", "phish", "scan", "old", "globex"]),
])
def test_created_within_is_a_window_ending_now(world, mcp, within, names):
    result = mcp.ok("listCases", {"created_within": within})
    assert ticket_ids(result) == tids(world, *names)
    applied = result["applied_filters"]
    assert applied["created_within"] == within and "default_window" not in applied
    assert applied["created_at_to"] - applied["created_at_from"] == {"m": 60_000, "h": 3_600_000, "d": 86_400_000,
                                                                      "w": 604_800_000}[within[-1]] * int(within[:-1])
    assert applied["created_at_to_iso"].endswith("Z")


def test_modified_within_replaces_the_default_window(world, mcp):
    result = mcp.ok("listCases", {"modified_within": "31h", "search": "ransomware"})
    assert ticket_ids(result) == tids(world, "ransom", "old")
    assert "default_window" not in result["applied_filters"]


def test_a_window_ending_now_stays_fixed_across_pages(world, mcp):
    first = mcp.ok("listCases", {"created_within": "5h", "limit": 2, "sort": "created_at", "order": "desc"})
    make_case(world["acme"], name="Arrived meanwhile", created_at=timezone.now())
    second = mcp.ok("listCases", {"created_within": "5h", "limit": 2, "sort": "created_at", "order": "desc",
                                  "cursor": first["next_cursor"]})
    seen = ticket_ids(first) | ticket_ids(second)
    assert seen == tids(world, "ransom", "phish", "scan", "globex")
    assert second["applied_filters"]["created_at_from"] == first["applied_filters"]["created_at_from"]
    # The cursor belongs to its query: not to another window, nor to a listing without one.
    assert "cursor is invalid" in mcp.fails("listCases", {"created_within": "6h", "limit": 2,
                                                          "cursor": first["next_cursor"]})
    assert "cursor is invalid" in mcp.fails("listCases", {"modified_within": "5h", "limit": 2,
                                                          "cursor": first["next_cursor"]})
    stretched = "c0-" + first["next_cursor"][1:].split("-", 1)[1]
    assert "cursor is invalid" in mcp.fails("listCases", {"created_within": "5h", "limit": 2, "cursor": stretched})


@pytest.mark.parametrize("arguments, words", [
    ({"created_at_from": "2026-11-24T08:00:00", "created_at_to": "2026-11-25"}, "no time zone"),
    ({"created_at_from": "last week", "created_at_to": "2026-11-25"}, "ISO 8601 date"),
    ({"created_at_from": "24/11/2026", "created_at_to": "2026-11-25"}, "is not a time"),
    ({"created_at_from": "2026-02-30", "created_at_to": "2026-03-01"}, "is not a time"),
    ({"created_at_from": "9999-01-01", "created_at_to": "9999-01-02"}, "out of range"),
    ({"created_at_from": "1950-01-01", "created_at_to": "1950-01-02"}, "out of range"),
    ({"created_at_from": "2026-11-25", "created_at_to": "2026-11-24"}, "swap them"),
    ({"created_at_from": "2026-11-25"}, "created_at_to is missing"),
    ({"created_within": "7 days"}, "90m, 24h, 7d or 4w"),
    ({"created_within": "0m"}, "from 1m to 520w"),
    ({"created_within": "600w"}, "from 1m to 520w"),
    ({"created_within": "-1d"}, "not a duration"),
    ({"created_within": "7d", "created_at_from": "2026-11-24", "created_at_to": "2026-11-25"}, "not both"),
    ({"modified_within": "1y"}, "not a duration"),
    ({"created_at_from": True, "created_at_to": "2026-11-25"}, "created_at_from"),
])
def test_times_that_cannot_be_read_exactly_are_errors_naming_the_forms(mcp, arguments, words):
    assert words in mcp.fails("listCases", arguments)
