"""What must not depend on the database: `search` and `name` return the same cases on SQLite and
PostgreSQL (checked against a plain-Python model of their meaning), PostgreSQL answers them from its
trigram indexes, a NUL character, which PostgreSQL cannot store, is refused the same way everywhere, and
a PostgreSQL reached through a unix socket is configured from either spelling of its URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import environ
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import api_key_create
from audit.models import PublicApiAccess
from cases.backend.base import CaseQuery
from cases.backend.embedded import EmbeddedBackend
from cases.models import Case, build_search_text
from tests.conftest import ROOT, database_url_for
from tests.factories import ROOT_SCOPE, make_case, make_tenant, make_user
from tests.mcp_helpers import RawMcp

backend = EmbeddedBackend()

NAMES = [
    "Ransomware: data encrypted for impact on WS-025",
    "Phishing link clicked by fatima.muller",
    "50% of hosts beaconing to c2_panel",
    "Path C:\\Users\\Public\\evil.exe executed",
    "Kerberoasting from srv-app01",
    "DNS tunneling from ws-363",
    "Müller's laptop: Überwachung alert",
    "Login from ÅLAND (ＳＯＣ rule 7)",
    'Rule "AND-NOT" hit: near(c2)* ^top {x} OR col:umn',
]
SEARCHES = [
    "ransomware", "RANSOMWARE ws-025", "ws", "c2_panel", "50%", "%", "_", "c:\\users", "\\", "müller",
    "überwachung", "ＳＯＣ", "fatima.muller phishing", "kerberoasting srv-app01", "no-such-thing", "s-0", "a",
    "vip", "analyst-1",
    # FTS5 query syntax (SQLite's index), taken literally like any other text
    '"', '"and-not"', "and-not", "and", "OR", "near(c2)*", "^top", "{x}", "col:umn", "-not", "ransom*", ") or (",
]
NAME_FILTERS = ["ransomware", "RANSOM", "ws-", "50%", "_", "\\users", "kerberoast", "from", "Wa", "RULE \"AND-NOT\" H",
                "near(c2)*", "col:umn", '"', "dns tunneling from"]


@pytest.fixture
def cases(db):
    tenant = make_tenant("Acme")
    analyst = make_user("analyst-1", tenants=[tenant])
    now = timezone.now()
    made = []
    for i, name in enumerate(NAMES):
        made.append(make_case(tenant, name=name, created_at=now - timedelta(minutes=i), tags=["vip"] if i % 3 == 0 else [],
                              assignee=analyst if i % 2 else None, summary=f"Summary {i}: {name.upper()}"))
    return made


def ids(query: CaseQuery) -> list[str]:
    return [item["_id"] for item in backend.list_cases(ROOT_SCOPE, query).items]


@pytest.mark.parametrize("search", SEARCHES)
def test_search_means_every_term_is_a_substring_of_the_search_text(cases, search):
    terms = search.lower().split()
    expected = [c.stellar_id for c in cases if all(term in c.search_text for term in terms)]
    assert ids(CaseQuery(search=search, limit=50)) == expected


@pytest.mark.parametrize("name", NAME_FILTERS)
def test_name_is_a_case_insensitive_substring(cases, name):
    # ASCII only: SQLite's LIKE folds the case of ASCII letters alone, PostgreSQL's UPPER() of every letter.
    expected = [c.stellar_id for c in cases if name.lower() in c.name.lower()]
    assert ids(CaseQuery(name=name, limit=50)) == expected


def plans_of(query: CaseQuery) -> list[str]:
    """The plan PostgreSQL chooses for every statement `list_cases(query)` runs."""
    with CaptureQueriesContext(connection) as captured:
        backend.list_cases(ROOT_SCOPE, query)
    plans = []
    with connection.cursor() as cursor:
        for statement in captured.captured_queries:
            cursor.execute("EXPLAIN " + statement["sql"])
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="PostgreSQL only: SQLite's search index is tested in test_case_search_index")
@pytest.mark.django_db(transaction=True)
def test_postgresql_answers_search_and_name_from_the_trigram_indexes():
    tenant = make_tenant("Bulk")
    now = timezone.now()
    bulk = []
    for i in range(3000):  # enough rows that reading them all costs more than the index
        name = f"Suspicious login {i} on host-{i:05d}"
        bulk.append(Case(tenant=tenant, ticket_id=10_000 + i, name=name, created_at=now - timedelta(seconds=i),
                         modified_at=now, search_text=build_search_text(10_000 + i, name, [], "", "")))
    Case.objects.bulk_create(bulk)
    with connection.cursor() as cursor:
        # What autovacuum does in time: statistics, and the GIN pending list of the bulk insert merged.
        cursor.execute("VACUUM ANALYZE cases_case")
    # Rare texts: the page, and its count when there is a next page, come from the index, not from 3,000 rows.
    search_plans = plans_of(CaseQuery(search="host-01234", limit=1))
    assert search_plans and all("case_search_trgm" in plan for plan in search_plans), search_plans
    name_plans = plans_of(CaseQuery(name="HOST-0123", limit=5))
    assert name_plans and all("case_name_trgm" in plan for plan in name_plans), name_plans
    assert len(ids(CaseQuery(name="HOST-0123", limit=50))) == 10


def test_a_nul_character_in_tool_arguments_is_refused_and_audited(live_url):
    tenant = make_tenant()
    make_case(tenant, name="nul target")
    user = make_user(tenants=[tenant])
    raw = RawMcp(live_url, api_key_create(user=user, name="nul")[1])
    for arguments, name in [({"search": "a\x00b"}, "search"), ({"tags": ["ok", "\x00"]}, "tags"),
                            ({"name": "\x00"}, "name")]:
        result = raw.call("listCases", arguments)["result"]
        assert result["isError"]
        assert result["content"][0]["text"] == (
            f"Invalid arguments for listCases: '{name}': must not contain the NUL character (U+0000)."
        )
    rows = list(PublicApiAccess.objects.filter(tool="listCases").order_by("pk").values_list("arguments", flat=True))
    assert rows == [{"search": "a<U+0000>b"}, {"tags": ["ok", "<U+0000>"]}, {"name": "<U+0000>"}]
    # An unknown tool's name is recorded the same way.
    assert raw.call("list\x00Cases")["error"]["code"] == -32602
    assert PublicApiAccess.objects.get(tool="list<U+0000>Cases").error == "Unknown tool: list<U+0000>Cases"


@pytest.mark.parametrize("url", [
    "postgres://stellar@/stellar?host=/srv/pg%20run&port=5433",
    "postgres://stellar@%2Fsrv%2Fpg%20run:5433/stellar",
])
def test_a_unix_socket_database_url_ends_up_in_host_and_port(url):
    # Settings are read once per process: read them in a fresh one.
    code = "import json; from stellar_mcp_site import settings as s; print(json.dumps(s.DATABASES['default']))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "DATABASE_URL": url},
                         capture_output=True, text=True, check=True).stdout
    db = json.loads(out.strip().splitlines()[-1])
    assert (db["HOST"], str(db["PORT"]), db["NAME"], db.get("OPTIONS", {})) == ("/srv/pg run", "5433", "stellar", {})
    # The live server gets the same database from the URL the tests hand it.
    again = environ.Env.db_url_config(database_url_for(db))
    assert again["OPTIONS"] == {"host": "/srv/pg run", "port": 5433} and again["NAME"] == "stellar"
