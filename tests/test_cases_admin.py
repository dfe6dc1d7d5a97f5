"""The admin pages of the case data: every changelist and change page renders on seeded data, the
filters and searches work, and an edit in the admin is recorded like any other case update."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from cases.demo_data import seed_demo
from cases.models import Activity, Alert, Case, CaseTag
from tenants.models import Tenant

pytestmark = pytest.mark.django_db

# The case data and the tenants it belongs to (the tenants app's Tenant is administered with the cases).
CASES_MODELS = sorted(
    (model for model in admin.site._registry if model._meta.app_label == "cases" or model.__name__ == "Tenant"),
    key=lambda m: m._meta.model_name,
)


@pytest.fixture
def seeded(fast_password_hashing) -> None:
    seed_demo(tenants=2, cases=25, alerts_per_case=3, seed=4, admin_password="admin-password-1")


@pytest.fixture
def root(seeded, client: Client) -> Client:
    client.force_login(get_user_model().objects.get(username="soc-admin"))
    return client


def url(model: type, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_model_of_the_case_data_is_registered() -> None:
    names = {m.__name__ for m in CASES_MODELS}
    assert {"Tenant", "Case", "Alert", "Observable", "Comment", "Activity", "ScoreHistory"} <= names


@pytest.mark.parametrize("model", CASES_MODELS, ids=lambda m: m.__name__)
def test_changelist_and_change_page_render(root: Client, model: type) -> None:
    response = root.get(url(model, "changelist"))
    assert response.status_code == 200
    obj = model.objects.order_by("pk").last()
    assert obj is not None, f"seed_demo created no {model.__name__}"
    assert root.get(url(model, "change", obj.pk)).status_code == 200
    if admin.site._registry[model].has_add_permission(response.wsgi_request):
        assert root.get(url(model, "add")).status_code == 200


def test_pages_need_a_staff_login(seeded, client: Client) -> None:
    response = client.get(url(Case, "changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(get_user_model().objects.get(username="analyst-1"))
    assert client.get(url(Case, "changelist")).status_code == 302


def results(response) -> list:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_case_search_by_ticket_id_case_id_and_name(root: Client) -> None:
    case = Case.objects.order_by("ticket_id")[3]
    assert results(root.get(url(Case, "changelist"), {"q": str(case.ticket_id)})) == [case]
    assert results(root.get(url(Case, "changelist"), {"q": case.stellar_id})) == [case]
    word = case.name.split(":")[0].split()[0]
    found = results(root.get(url(Case, "changelist"), {"q": word}))
    assert case in found and all(word.lower() in c.name.lower() for c in found)
    assert results(root.get(url(Case, "changelist"), {"q": "no such case anywhere"})) == []


def test_case_filters(root: Client) -> None:
    tenant = Tenant.objects.order_by("pk").first()
    found = results(root.get(url(Case, "changelist"), {"status__exact": "New", "tenant__id__exact": tenant.pk}))
    assert found == list(Case.objects.filter(status="New", tenant=tenant))
    found = results(root.get(url(Case, "changelist"), {"severity__exact": "Critical"}))
    assert {c.severity for c in found} <= {"Critical"}
    found = results(root.get(url(Case, "changelist"), {"resolution__exact": "True Positive"}))
    assert {c.resolution for c in found} <= {"True Positive"}
    assert root.get(url(Case, "changelist"), {"created_at__gte": "2000-01-01 00:00:00+00:00"}).status_code == 200


def test_case_page_links_to_its_alerts(root: Client) -> None:
    case = Case.objects.filter(size__gt=1).order_by("pk").first()
    page = root.get(url(Case, "change", case.pk)).content.decode()
    link = f'{url(Alert, "changelist")}?case__id__exact={case.pk}'
    assert link in page
    alerts = results(root.get(link))
    assert len(alerts) == case.size and {a.case_id for a in alerts} == {case.pk}


def test_case_page_shows_comments_observables_and_history_inline(root: Client) -> None:
    case = Case.objects.exclude(comments=None).exclude(activities=None).order_by("pk").first()
    page = root.get(url(Case, "change", case.pk)).content.decode()
    assert case.comments.first().comment.replace("'", "&#x27;") in page
    assert case.observables.first().value in page
    assert case.activities.first().to_value in page


def test_alert_search_by_uuid_id_and_name(root: Client) -> None:
    alert = Alert.objects.order_by("pk")[5]
    assert results(root.get(url(Alert, "changelist"), {"q": alert.stellar_uuid})) == [alert]
    assert results(root.get(url(Alert, "changelist"), {"q": alert.es_id})) == [alert]
    found = results(root.get(url(Alert, "changelist"), {"q": alert.name}))
    assert alert in found and {a.name for a in found} == {alert.name}


def test_alert_filters(root: Client) -> None:
    found = results(root.get(url(Alert, "changelist"), {"event_status": "Closed"}))
    assert found and {a.event_status for a in found} == {"Closed"}
    found = results(root.get(url(Alert, "changelist"), {"tactic_id": "TA0001"}))
    assert found and {a.tactic_name for a in found} == {"Initial Access"}


class FormReader(HTMLParser):
    """What a browser would submit for the change form, read from the page's HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None
        self._first_option: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.data[name] = a.get("value") or ("on" if a.get("type") == "checkbox" else "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def form_data(response) -> dict[str, str]:
    reader = FormReader()
    reader.feed(response.content.decode())
    data = reader.data
    # A textarea's first newline is eaten by browsers.
    return {k: v[1:] if v.startswith("\n") else v for k, v in data.items()}


def test_an_admin_edit_bumps_the_version_and_records_activities(root: Client) -> None:
    case = Case.objects.filter(status="New", assignee=None).order_by("pk").first()
    change_url = url(Case, "change", case.pk)
    data = form_data(root.get(change_url))
    data.update(status="In Progress", severity="Critical", tags='["phishing", "email"]')
    response = root.post(change_url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    updated = Case.objects.get(pk=case.pk)
    assert (updated.status, updated.severity, updated.tags) == ("In Progress", "Critical", ["phishing", "email"])
    assert updated.version == case.version + 1
    assert updated.severity_rank == 4 and "phishing" in updated.search_text
    assert updated.modified_by.username == "soc-admin" and updated.modified_at > case.modified_at
    assert set(CaseTag.objects.filter(case=case).values_list("tag", flat=True)) == {"phishing", "email"}
    recorded = Activity.objects.filter(case=case, timestamp=updated.modified_at, user__username="soc-admin")
    changed = {a.field: (a.from_value, a.to_value) for a in recorded}
    expected = {"status": ("New", "In Progress"), "tags": (", ".join(case.tags), "phishing, email")}
    if case.severity != "Critical":
        expected["severity"] = (case.severity, "Critical")
    assert changed == expected


def test_saving_an_unchanged_case_changes_nothing(root: Client) -> None:
    case = Case.objects.order_by("pk").first()
    change_url = url(Case, "change", case.pk)
    activities = case.activities.count()
    response = root.post(change_url, form_data(root.get(change_url)))
    assert response.status_code == 302
    updated = Case.objects.get(pk=case.pk)
    assert updated.version == case.version and updated.activities.count() == activities
