"""Access tokens: signed, ten minutes, bound to one key, refused as soon as the key stops being usable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.test.utils import override_settings
from django.utils import timezone

from accounts.authentication import AuthenticationFailed, authenticate_bearer
from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke, api_key_rotate
from accounts.tokens import access_token_issue
from tests.accounts_support import make_tenant, make_user, secret_of

pytestmark = pytest.mark.django_db
IP = "198.51.100.7"


@pytest.fixture(autouse=True)
def _fresh_rate_limit_counters():
    cache.clear()


@pytest.fixture
def key_and_plaintext():
    tenant = make_tenant("Acme")
    return api_key_create(user=make_user("alice", tenants=[tenant]), name="k", scope="read")


def auth(token: str):
    return authenticate_bearer(f"Bearer {token}", client_ip=IP)


def test_issue_answers_a_bearer_token_valid_ten_minutes(key_and_plaintext):
    key, plaintext = key_and_plaintext
    before = int(timezone.now().timestamp())
    issued = access_token_issue(api_key=key)
    assert set(issued) == {"access_token", "token_type", "expires_in", "exp", "expires_at"}
    assert issued["token_type"] == "Bearer"
    assert issued["expires_in"] == 600
    assert before + 600 <= issued["exp"] <= int(timezone.now().timestamp()) + 600
    assert issued["expires_at"].endswith("Z")
    assert datetime.fromisoformat(issued["expires_at"]) == datetime.fromtimestamp(issued["exp"], tz=UTC)
    token = issued["access_token"]
    assert token.startswith("sat-") and not token.startswith("sk-stellar-")
    assert secret_of(plaintext) not in token and key.digest not in token


def test_token_authenticates_as_its_key(key_and_plaintext):
    key, _ = key_and_plaintext
    principal = auth(access_token_issue(api_key=key)["access_token"])
    assert principal.via_access_token is True
    assert principal.api_key.pk == key.pk
    assert principal.user == key.user
    assert principal.scope == "read"
    assert principal.tenants.cust_ids == frozenset(key.user.tenant_access.tenants.values_list("cust_id", flat=True))


@override_settings(ACCESS_TOKEN_TTL_SECONDS=600)
def test_token_never_outlives_its_key(key_and_plaintext):
    key, _ = key_and_plaintext
    key.expires_at = timezone.now() + timedelta(seconds=120)
    key.save()
    issued = access_token_issue(api_key=key)
    assert 110 <= issued["expires_in"] <= 120
    api_key_rotate(key=key, grace_minutes=1)
    key.refresh_from_db()
    assert 50 <= access_token_issue(api_key=key)["expires_in"] <= 60


def test_expired_token_is_refused(key_and_plaintext):
    key, _ = key_and_plaintext
    now = timezone.now()
    stale = access_token_issue(api_key=key, now=now - timedelta(seconds=601))["access_token"]
    fresh = access_token_issue(api_key=key, now=now - timedelta(seconds=590))["access_token"]
    with pytest.raises(AuthenticationFailed) as failure:
        auth(stale)
    assert failure.value.key_public_id == key.public_id
    assert auth(fresh).api_key.pk == key.pk


def test_forged_or_altered_tokens_are_refused(key_and_plaintext):
    key, _ = key_and_plaintext
    other, _ = api_key_create(user=make_user("bob"), name="other")
    token = access_token_issue(api_key=key)["access_token"]
    prefix, exp, sig = token.rsplit(".", 2)[0], token.split(".")[1], token.split(".")[2]
    flipped = sig[:-1] + ("A" if sig[-1] != "A" else "B")
    variants = [
        f"{prefix}.{exp}.{flipped}",  # signature altered
        f"{prefix}.{int(exp) + 3600}.{sig}",  # lifetime extended
        f"sat-{other.public_id}.{exp}.{sig}",  # moved to another key
        token[:-1],  # truncated
        token + "A",
        token.replace("sat-", "SAT-"),
    ]
    for forged in variants:
        with pytest.raises(AuthenticationFailed):
            auth(forged)
    with override_settings(SECRET_KEY="a-different-secret-key-" * 3):
        signed_elsewhere = access_token_issue(api_key=key)["access_token"]
    with pytest.raises(AuthenticationFailed):
        auth(signed_elsewhere)
    assert auth(token).api_key.pk == key.pk


def test_token_refused_from_the_request_after_its_key_is_revoked(key_and_plaintext):
    key, _ = key_and_plaintext
    token = access_token_issue(api_key=key)["access_token"]
    auth(token)
    api_key_revoke(key=key, reason="test")
    with pytest.raises(AuthenticationFailed):
        auth(token)


def test_token_refused_once_its_key_expires(key_and_plaintext):
    key, _ = key_and_plaintext
    token = access_token_issue(api_key=key)["access_token"]
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(AuthenticationFailed):
        auth(token)


def test_token_refused_when_its_owner_is_deactivated(key_and_plaintext):
    key, _ = key_and_plaintext
    token = access_token_issue(api_key=key)["access_token"]
    key.user.is_active = False
    key.user.save()
    with pytest.raises(AuthenticationFailed):
        auth(token)


def test_token_of_a_rotated_key_lasts_the_grace_period_only(key_and_plaintext):
    key, _ = key_and_plaintext
    token = access_token_issue(api_key=key)["access_token"]
    api_key_rotate(key=key, grace_minutes=10)
    assert auth(token).api_key.pk == key.pk
    ApiKey.objects.filter(pk=key.pk).update(grace_until=timezone.now() - timedelta(seconds=1))
    with pytest.raises(AuthenticationFailed):
        auth(token)


def test_no_token_for_a_key_that_is_not_usable(key_and_plaintext):
    key, _ = key_and_plaintext
    api_key_revoke(key=key)
    key.refresh_from_db()
    with pytest.raises(AuthenticationFailed):
        access_token_issue(api_key=key)
