"""Admin: API key list, create (key shown once), revoke and rotate actions, no digest, tenant access on users."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.cache import cache
from django.urls import reverse

from accounts.authentication import AuthenticationFailed, authenticate_bearer
from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke
from tenants.models import TenantAccess
from tests.accounts_support import (
    assert_secret_nowhere_in_database,
    make_tenant,
    make_user,
    secret_of,
)

pytestmark = pytest.mark.django_db
IP = "192.0.2.80"
CHANGELIST = reverse("admin:accounts_apikey_changelist")
ADD = reverse("admin:accounts_apikey_add")


@pytest.fixture(autouse=True)
def _fresh_rate_limit_counters():
    cache.clear()


@pytest.fixture
def admin_user():
    return make_user("boss", superuser=True, root=True)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def authenticates(plaintext: str):
    return authenticate_bearer(f"Bearer {plaintext}", client_ip=IP)


def plaintexts_in(html: str) -> list[str]:
    import re

    return re.findall(r"sk-stellar-[a-z0-9]{12}[A-Za-z0-9]{32}", html)


def assert_not_left_in_client_state(client, plaintext: str) -> None:
    for cookie in client.cookies.values():
        assert secret_of(plaintext) not in cookie.value
    assert_secret_nowhere_in_database(plaintext)


# --- create ----------------------------------------------------------------------------------------


def test_add_form_has_the_fields_and_no_digest(admin_client):
    response = admin_client.get(ADD)
    assert response.status_code == 200
    html = response.content.decode()
    for field in ('name="name"', 'name="user"', 'name="scope"', 'name="tenants"', 'name="expires_in_days"'):
        assert field in html
    assert 'name="digest"' not in html


def test_create_shows_the_key_once(admin_client):
    tenant = make_tenant("Acme")
    owner = make_user("alice", tenants=[tenant])
    response = admin_client.post(
        ADD,
        {"name": "ci", "user": owner.pk, "scope": "read", "tenants": [tenant.pk], "expires_in_days": "30"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    shown = plaintexts_in(html)
    assert len(set(shown)) == 1
    plaintext = shown[0]
    assert "will not be shown again" in html
    assert "no-store" in response["Cache-Control"]
    principal = authenticates(plaintext)
    assert (principal.user, principal.scope, principal.tenants.cust_ids) == (owner, "read", {tenant.cust_id})
    key = ApiKey.objects.get()
    assert key.name == "ci" and key.expires_at is not None
    # Never again: not on the list, not on the change page, not in cookies, sessions or any table.
    for url in (CHANGELIST, reverse("admin:accounts_apikey_change", args=[key.pk])):
        page = admin_client.get(url).content.decode()
        assert secret_of(plaintext) not in page
        assert key.public_id in page
    assert_not_left_in_client_state(admin_client, plaintext)


def test_create_refuses_a_tenant_outside_the_owner_access(admin_client):
    mine, other = make_tenant("Mine"), make_tenant("Other")
    owner = make_user("alice", tenants=[mine])
    response = admin_client.post(ADD, {"name": "k", "user": owner.pk, "scope": "read", "tenants": [other.pk]})
    assert response.status_code == 200
    assert "outside the access of user alice" in response.content.decode()
    assert plaintexts_in(response.content.decode()) == []
    assert not ApiKey.objects.exists()


def test_add_requires_permission(client):
    clerk = make_user("clerk", staff=True)
    client.force_login(clerk)
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {"name": "k", "user": clerk.pk, "scope": "read"}).status_code == 403
    assert not ApiKey.objects.exists()


# --- list, filters, search -------------------------------------------------------------------------


def test_changelist_columns_filters_and_search(admin_client):
    alice, bob = make_user("alice"), make_user("bob")
    live, _ = api_key_create(user=alice, name="alpha key", scope="read")
    dead, _ = api_key_create(user=bob, name="beta key")
    api_key_revoke(key=dead, reason="x")
    html = admin_client.get(CHANGELIST).content.decode()
    for column in ("Public id", "Name", "User", "Scope", "Tenants", "Last used", "State"):
        assert column.lower() in html.lower()
    assert live.public_id in html and dead.public_id in html
    assert "all of the owner" in html

    active = admin_client.get(CHANGELIST, {"state": "active"}).content.decode()
    assert live.public_id in active and dead.public_id not in active
    revoked = admin_client.get(CHANGELIST, {"state": "revoked"}).content.decode()
    assert dead.public_id in revoked and live.public_id not in revoked
    read_only = admin_client.get(CHANGELIST, {"scope__exact": "read"}).content.decode()
    assert live.public_id in read_only and dead.public_id not in read_only
    by_owner = admin_client.get(CHANGELIST, {"user__id__exact": bob.pk}).content.decode()
    assert dead.public_id in by_owner and live.public_id not in by_owner

    for term, expected, other in (("bob", dead, live), (live.public_id, live, dead), ("alpha", live, dead)):
        found = admin_client.get(CHANGELIST, {"q": term}).content.decode()
        assert expected.public_id in found and other.public_id not in found


# --- change page: read-only but the name, no digest ------------------------------------------------


def test_change_page_hides_the_digest_and_only_the_name_is_editable(admin_client):
    tenant = make_tenant("Acme")
    owner = make_user("alice", tenants=[tenant])
    key, _ = api_key_create(user=owner, name="old name", scope="read", tenant_ids=[tenant.cust_id])
    url = reverse("admin:accounts_apikey_change", args=[key.pk])
    html = admin_client.get(url).content.decode()
    assert key.digest not in html and "digest" not in html.lower()
    assert 'name="name"' in html
    for field in ("scope", "user", "tenants", "expires_at", "public_id"):
        assert f'name="{field}"' not in html
    other = make_user("mallory")
    response = admin_client.post(url, {"name": "new name", "scope": "read_write", "user": other.pk, "_save": "1"})
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.name, key.scope, key.user) == ("new name", "read", owner)


def test_keys_cannot_be_deleted_only_revoked(admin_client):
    key, _ = api_key_create(user=make_user("alice"), name="k")
    assert admin_client.get(reverse("admin:accounts_apikey_delete", args=[key.pk])).status_code == 403
    assert "delete_selected" not in admin_client.get(CHANGELIST).content.decode()
    assert ApiKey.objects.filter(pk=key.pk).exists()


# --- actions -----------------------------------------------------------------------------------------


def test_revoke_action_asks_for_a_reason_then_revokes(admin_client, admin_user):
    key, plaintext = api_key_create(user=make_user("alice"), name="k")
    other, other_plain = api_key_create(user=make_user("bob"), name="untouched")
    selection = {"action": "revoke_keys", ACTION_CHECKBOX_NAME: [key.pk]}
    page = admin_client.post(CHANGELIST, {**selection, "index": "0"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="reason"' in html and key.public_id in html and other.public_id not in html
    assert "This field is required" not in html
    key.refresh_from_db()
    assert key.revoked_at is None

    # A reason is required.
    again = admin_client.post(CHANGELIST, {**selection, "confirm": "yes", "reason": ""})
    assert again.status_code == 200 and "This field is required" in again.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None

    done = admin_client.post(CHANGELIST, {**selection, "confirm": "yes", "reason": "left the company"}, follow=True)
    assert done.status_code == 200 and "Revoked 1 API key" in done.content.decode()
    key.refresh_from_db()
    assert key.revoked_reason == "left the company" and key.revoked_by == admin_user
    with pytest.raises(AuthenticationFailed):
        authenticates(plaintext)
    assert authenticates(other_plain).api_key.pk == other.pk


def test_rotate_action_shows_a_new_key_that_works(admin_client):
    tenant = make_tenant("Acme")
    owner = make_user("alice", tenants=[tenant])
    key, old_plain = api_key_create(user=owner, name="ci", scope="read", tenant_ids=[tenant.cust_id])
    selection = {"action": "rotate_keys", ACTION_CHECKBOX_NAME: [key.pk]}
    page = admin_client.post(CHANGELIST, {**selection, "index": "0"})
    assert page.status_code == 200 and 'name="grace_minutes"' in page.content.decode()
    assert ApiKey.objects.count() == 1

    response = admin_client.post(CHANGELIST, {**selection, "confirm": "yes", "grace_minutes": "0"})
    assert response.status_code == 200
    shown = plaintexts_in(response.content.decode())
    assert len(set(shown)) == 1 and shown[0] != old_plain
    principal = authenticates(shown[0])
    assert principal.api_key.rotated_from_id == key.pk
    assert (principal.user, principal.scope, principal.tenants.cust_ids) == (owner, "read", {tenant.cust_id})
    with pytest.raises(AuthenticationFailed):
        authenticates(old_plain)
    assert_not_left_in_client_state(admin_client, shown[0])


def test_rotate_action_reports_keys_it_cannot_rotate(admin_client):
    key, _ = api_key_create(user=make_user("alice"), name="k")
    api_key_revoke(key=key)
    response = admin_client.post(
        CHANGELIST, {"action": "rotate_keys", ACTION_CHECKBOX_NAME: [key.pk], "confirm": "yes", "grace_minutes": "0"}
    )
    assert "is revoked" in response.content.decode()
    assert plaintexts_in(response.content.decode()) == []
    assert ApiKey.objects.count() == 1


# --- users' tenant access ------------------------------------------------------------------------------


def test_tenant_access_is_editable_from_the_user_page(admin_client):
    _, b = make_tenant("A"), make_tenant("B")
    user = make_user("alice", access_row=False)
    url = reverse("admin:auth_user_change", args=[user.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "tenant_access-TOTAL_FORMS" in html and "root (all tenants)" in html.lower()
    form = page.context["adminform"].form
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "date_joined_0": form.initial["date_joined"].strftime("%Y-%m-%d"),
        "date_joined_1": form.initial["date_joined"].strftime("%H:%M:%S"),
        "tenant_access-TOTAL_FORMS": "1",
        "tenant_access-INITIAL_FORMS": "0",
        "tenant_access-MIN_NUM_FORMS": "0",
        "tenant_access-MAX_NUM_FORMS": "1",
        "tenant_access-0-tenants": [b.pk],
        "api_keys-TOTAL_FORMS": "0",
        "api_keys-INITIAL_FORMS": "0",
        "api_keys-MIN_NUM_FORMS": "0",
        "api_keys-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    access = TenantAccess.objects.get(user=user)
    assert access.all_tenants is False and list(access.tenants.all()) == [b]
    _, plaintext = api_key_create(user=user, name="k")
    assert authenticates(plaintext).tenants.cust_ids == {b.cust_id}


def test_tenant_access_has_its_own_admin(admin_client):
    a = make_tenant("A")
    user = make_user("carol", access_row=False)
    response = admin_client.post(
        reverse("admin:tenants_tenantaccess_add"), {"user": user.pk, "all_tenants": "on", "tenants": [a.pk]}
    )
    assert response.status_code == 302
    assert TenantAccess.objects.get(user=user).all_tenants is True
    assert "carol" in admin_client.get(reverse("admin:tenants_tenantaccess_changelist")).content.decode()
