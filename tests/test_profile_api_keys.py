"""Profile | API Keys: a logged-in user lists, creates and revokes their own keys; anonymous users go to login."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.authentication import AuthenticationFailed, authenticate_bearer
from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke
from tests.accounts_support import (
    assert_secret_nowhere_in_database,
    make_tenant,
    make_user,
    secret_of,
)

pytestmark = pytest.mark.django_db
IP = "192.0.2.90"
PAGE = "/profile/api-keys/"
KEY_RE = re.compile(r"sk-stellar-[a-z0-9]{12}[A-Za-z0-9]{32}")


@pytest.fixture(autouse=True)
def _fresh_rate_limit_counters():
    cache.clear()


@pytest.fixture
def tenants():
    return {name: make_tenant(name) for name in ("Mine1", "Mine2", "NotMine")}


@pytest.fixture
def alice(tenants):
    return make_user("alice", tenants=[tenants["Mine1"], tenants["Mine2"]], staff=True)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def revoke_url(key: ApiKey) -> str:
    return reverse("accounts:profile-api-key-revoke", args=[key.public_id])


def test_url_is_the_documented_one():
    assert reverse("accounts:profile-api-keys") == PAGE


def test_anonymous_users_are_sent_to_the_login_page(client, alice):
    key, _ = api_key_create(user=alice, name="k")
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={PAGE}"
    assert client.post(PAGE, {"name": "sneaky", "scope": "read"}).status_code == 302
    assert client.post(revoke_url(key)).status_code == 302
    assert ApiKey.objects.count() == 1
    key.refresh_from_db()
    assert key.revoked_at is None


def test_page_lists_own_keys_only(alice_client, alice):
    mine, _ = api_key_create(user=alice, name="my laptop key")
    theirs, _ = api_key_create(user=make_user("bob"), name="bob's key")
    response = alice_client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Profile | API Keys" in html
    assert mine.public_id in html and "my laptop key" in html
    assert theirs.public_id not in html and "bob&#x27;s key" not in html
    assert KEY_RE.search(html) is None
    assert mine.digest not in html


def test_create_form_offers_only_own_tenants(alice_client, tenants):
    html = alice_client.get(PAGE).content.decode()
    assert "Mine1" in html and "Mine2" in html
    assert "NotMine" not in html
    assert 'name="scope"' in html and 'name="expires_in_days"' in html and 'name="name"' in html


def test_create_shows_the_key_once_and_it_works(alice_client, alice, tenants):
    response = alice_client.post(
        PAGE, {"name": "claude", "scope": "read", "tenants": [tenants["Mine2"].pk], "expires_in_days": "14"}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    shown = set(KEY_RE.findall(response.content.decode()))
    assert len(shown) == 1
    plaintext = shown.pop()
    assert "claude mcp add --transport http stellar_api" in response.content.decode()
    principal = authenticate_bearer(f"Bearer {plaintext}", client_ip=IP)
    assert principal.user == alice and principal.scope == "read"
    assert principal.tenants.cust_ids == {tenants["Mine2"].cust_id}
    key = ApiKey.objects.get()
    assert key.name == "claude" and key.expires_at is not None
    later = alice_client.get(PAGE).content.decode()
    assert key.public_id in later and secret_of(plaintext) not in later
    for cookie in alice_client.cookies.values():
        assert secret_of(plaintext) not in cookie.value
    assert_secret_nowhere_in_database(plaintext)


def test_read_write_key_from_the_profile(alice_client, alice):
    response = alice_client.post(PAGE, {"name": "rw", "scope": "read_write"})
    plaintext = KEY_RE.search(response.content.decode())[0]
    principal = authenticate_bearer(f"Bearer {plaintext}", client_ip=IP)
    assert principal.can_write
    assert principal.tenants.cust_ids == set(alice.tenant_access.tenants.values_list("cust_id", flat=True))


def test_create_refuses_a_tenant_outside_own_access(alice_client, tenants):
    response = alice_client.post(PAGE, {"name": "x", "scope": "read", "tenants": [tenants["NotMine"].pk]})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert KEY_RE.search(response.content.decode()) is None
    assert not ApiKey.objects.exists()


def test_create_requires_a_name(alice_client):
    response = alice_client.post(PAGE, {"name": "", "scope": "read"})
    assert "This field is required" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_revoke_own_key(alice_client, alice):
    key, plaintext = api_key_create(user=alice, name="k")
    response = alice_client.post(revoke_url(key), follow=True)
    assert response.status_code == 200
    assert f"API key {key.public_id} (k) is revoked" in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == alice
    with pytest.raises(AuthenticationFailed):
        authenticate_bearer(f"Bearer {plaintext}", client_ip=IP)
    # A revoked key offers no revoke button any more.
    assert revoke_url(key) not in response.content.decode()


def test_cannot_revoke_someone_elses_key(alice_client):
    theirs, plaintext = api_key_create(user=make_user("bob"), name="bob")
    assert alice_client.post(revoke_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    authenticate_bearer(f"Bearer {plaintext}", client_ip=IP)


def test_revoke_needs_post_and_reports_an_already_revoked_key(alice_client, alice):
    key, _ = api_key_create(user=alice, name="k")
    assert alice_client.get(revoke_url(key)).status_code == 405
    api_key_revoke(key=key, reason="earlier")
    response = alice_client.post(revoke_url(key), follow=True)
    assert "already revoked" in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_reason == "earlier"


def test_an_analyst_who_is_not_staff_logs_in_and_reaches_the_page(client, django_user_model):
    from tenants.models import TenantAccess
    from tests.factories import make_tenant

    analyst = django_user_model.objects.create_user("plain-analyst", password="s3cret-pass-word")
    TenantAccess.objects.create(user=analyst).tenants.set([make_tenant()])
    assert not analyst.is_staff
    response = client.post("/accounts/login/", {"username": "plain-analyst", "password": "s3cret-pass-word",
                                                "next": PAGE})
    assert response.status_code == 302 and response["Location"] == PAGE
    page = client.get(PAGE)
    assert page.status_code == 200 and b"Your API keys" in page.content
