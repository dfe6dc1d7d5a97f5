"""authenticate_bearer: API key or access token in, principal out; refusals look alike and are rate-limited."""

from __future__ import annotations

import hmac
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from accounts.authentication import AuthenticationFailed, authenticate_bearer
from accounts.keys import digest_matches, key_digest, parse_public_id
from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke, api_key_rotate
from accounts.tokens import access_token_issue
from tenants.models import TenantAccess
from tenants.scope import TenantScope
from tests.accounts_support import make_tenant, make_user

pytestmark = pytest.mark.django_db
IP = "203.0.113.5"


@pytest.fixture(autouse=True)
def _fresh_rate_limit_counters():
    cache.clear()


def auth(credential: str, ip: str = IP):
    return authenticate_bearer(f"Bearer {credential}", client_ip=ip)


def refusal(credential: str | None, *, header: str | None = None, ip: str = IP) -> AuthenticationFailed:
    with pytest.raises(AuthenticationFailed) as failure:
        authenticate_bearer(header if header is not None else f"Bearer {credential}", client_ip=ip)
    return failure.value


# --- the principal -------------------------------------------------------------------------------


def test_api_key_resolves_to_its_owner_key_and_scope():
    user = make_user("alice", root=True)
    key, plaintext = api_key_create(user=user, name="k", scope="read_write")
    principal = authenticate_bearer(f"Bearer {plaintext}", client_ip=IP)
    assert principal.user == user
    assert principal.api_key.pk == key.pk
    assert principal.scope == "read_write" and principal.can_write
    assert principal.via_access_token is False


def test_scheme_is_case_insensitive_and_whitespace_tolerant():
    _, plaintext = api_key_create(user=make_user("alice"), name="k")
    assert authenticate_bearer(f"bearer   {plaintext}  ", client_ip=IP).user.username == "alice"


def test_read_only_key_gives_a_read_only_principal():
    _, plaintext = api_key_create(user=make_user("alice", root=True), name="k", scope="read")
    principal = auth(plaintext)
    assert principal.scope == "read"
    assert principal.can_write is False


# --- tenants: owner's tenants ∩ key restriction ----------------------------------------------------


@pytest.fixture
def tenants():
    return {name: make_tenant(name) for name in ("A", "B", "C")}


def cust(tenants, *names):
    return frozenset(tenants[n].cust_id for n in names)


def test_root_without_restriction_sees_all_tenants(tenants):
    _, plaintext = api_key_create(user=make_user("root", root=True), name="k")
    scope = auth(plaintext).tenants
    assert scope == TenantScope(all_tenants=True)
    assert scope.allows(tenants["C"].cust_id) and scope.allows("any-tenant-created-later")


def test_root_with_restriction_sees_the_restriction(tenants):
    _, plaintext = api_key_create(user=make_user("root", root=True), name="k", tenant_ids=[tenants["B"].cust_id])
    assert auth(plaintext).tenants == TenantScope(all_tenants=False, cust_ids=cust(tenants, "B"))


def test_limited_user_sees_own_tenants(tenants):
    user = make_user("alice", tenants=[tenants["A"], tenants["B"]])
    _, plaintext = api_key_create(user=user, name="k")
    scope = auth(plaintext).tenants
    assert scope == TenantScope(all_tenants=False, cust_ids=cust(tenants, "A", "B"))
    assert not scope.allows(tenants["C"].cust_id)


def test_limited_user_with_restriction_sees_the_intersection(tenants):
    user = make_user("alice", tenants=[tenants["A"], tenants["B"]])
    _, plaintext = api_key_create(user=user, name="k", tenant_ids=[tenants["B"].cust_id])
    assert auth(plaintext).tenants == TenantScope(all_tenants=False, cust_ids=cust(tenants, "B"))
    # The owner loses B: the key restricted to B now sees nothing (not everything).
    user.tenant_access.tenants.set([tenants["A"], tenants["C"]])
    assert auth(plaintext).tenants == TenantScope(all_tenants=False, cust_ids=frozenset())


def test_tenant_access_changes_apply_on_the_next_request(tenants):
    user = make_user("alice", tenants=[tenants["A"]])
    _, plaintext = api_key_create(user=user, name="k")
    assert auth(plaintext).tenants.cust_ids == cust(tenants, "A")
    user.tenant_access.tenants.add(tenants["C"])
    assert auth(plaintext).tenants.cust_ids == cust(tenants, "A", "C")
    TenantAccess.objects.filter(user=user).update(all_tenants=True)
    assert auth(plaintext).tenants.all_tenants is True


def test_user_without_access_row_sees_no_tenant(tenants):
    root = make_user("alice", root=True)
    _, plaintext = api_key_create(user=root, name="k", tenant_ids=[tenants["A"].cust_id])
    TenantAccess.objects.filter(user=root).delete()
    assert auth(plaintext).tenants == TenantScope(all_tenants=False, cust_ids=frozenset())
    _, plain2 = api_key_create(user=make_user("bob", access_row=False), name="k")
    assert auth(plain2).tenants == TenantScope(all_tenants=False, cust_ids=frozenset())


# --- refusals --------------------------------------------------------------------------------------


def test_all_refusals_look_the_same():
    user = make_user("alice")
    key, plaintext = api_key_create(user=user, name="k")
    revoked, revoked_plain = api_key_create(user=user, name="r")
    api_key_revoke(key=revoked)
    expired, expired_plain = api_key_create(user=user, name="e", expires_in_days=1)
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    wrong_secret = plaintext[:-1] + ("a" if plaintext[-1] != "a" else "b")
    unknown = "sk-stellar-" + "z" * 12 + "A" * 32
    cases = {
        "wrong secret": (wrong_secret, key.public_id),
        "unknown id": (unknown, "z" * 12),
        "revoked": (revoked_plain, revoked.public_id),
        "expired": (expired_plain, expired.public_id),
        "malformed": ("sk-stellar-short", None),
        "garbage": ("hello", None),
        "bad token": ("sat-" + "z" * 12 + ".1.x", None),
    }
    messages = set()
    with override_settings(AUTH_FAILURE_LIMIT=100):
        for label, (credential, public_id) in cases.items():
            failure = refusal(credential)
            assert failure.key_public_id == public_id, label
            assert failure.rate_limited is False, label
            messages.add(str(failure))
    assert messages == {"Invalid or expired credentials."}


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Token abc"])
def test_missing_or_non_bearer_header_is_refused(header):
    with pytest.raises(AuthenticationFailed) as failure:
        authenticate_bearer(header, client_ip=IP)
    assert failure.value.key_public_id is None and failure.value.rate_limited is False


def test_digests_are_compared_in_constant_time(monkeypatch):
    key, plaintext = api_key_create(user=make_user("alice"), name="k")
    calls = []
    real = hmac.compare_digest

    def recording(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    auth(plaintext)
    assert calls == [(key_digest(plaintext), key.digest)]
    calls.clear()
    wrong = plaintext[:-1] + ("a" if plaintext[-1] != "a" else "b")
    refusal(wrong)
    assert calls == [(key_digest(wrong), key.digest)]
    calls.clear()
    # An unknown key id still costs a digest and a comparison.
    refusal("sk-stellar-" + "z" * 12 + "A" * 32)
    assert len(calls) == 1
    calls.clear()
    token = access_token_issue(api_key=key)["access_token"]
    auth(token)
    assert len(calls) == 1 and calls[0][1] == token.rsplit(".", 1)[1]


# --- revocation, expiry, rotation: effective on the next request -----------------------------------


def test_revocation_is_effective_on_the_next_request():
    key, plaintext = api_key_create(user=make_user("alice"), name="k")
    auth(plaintext)
    api_key_revoke(key=key, reason="lost")
    refusal(plaintext)


def test_expiry_is_honoured():
    key, plaintext = api_key_create(user=make_user("alice"), name="k", expires_in_days=1)
    auth(plaintext)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() + timedelta(seconds=30))
    auth(plaintext)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(microseconds=1))
    refusal(plaintext)


def test_deactivated_owner_is_refused():
    key, plaintext = api_key_create(user=make_user("alice"), name="k")
    auth(plaintext)
    key.user.is_active = False
    key.user.save()
    refusal(plaintext)


def test_rotation_without_grace_stops_the_old_key_at_once():
    key, old_plain = api_key_create(user=make_user("alice"), name="k")
    new, new_plain = api_key_rotate(key=key, grace_minutes=0)
    refusal(old_plain)
    assert auth(new_plain).api_key.pk == new.pk


def test_rotation_grace_period_is_honoured():
    key, old_plain = api_key_create(user=make_user("alice"), name="k")
    new, new_plain = api_key_rotate(key=key, grace_minutes=30)
    assert auth(old_plain).api_key.pk == key.pk
    assert auth(new_plain).api_key.pk == new.pk
    ApiKey.objects.filter(pk=key.pk).update(grace_until=timezone.now() + timedelta(seconds=5))
    assert auth(old_plain).api_key.pk == key.pk
    ApiKey.objects.filter(pk=key.pk).update(grace_until=timezone.now() - timedelta(seconds=1))
    refusal(old_plain)
    assert auth(new_plain).api_key.pk == new.pk


# --- rate limit on failures -------------------------------------------------------------------------


@override_settings(AUTH_FAILURE_LIMIT=3, AUTH_FAILURE_WINDOW_SECONDS=60)
def test_failures_from_one_ip_block_its_refusals_but_never_a_valid_key(monkeypatch):
    _, plaintext = api_key_create(user=make_user("alice"), name="k")
    bad = "sk-stellar-" + "q" * 12 + "A" * 32
    auth(plaintext)  # a success beforehand does not buy extra attempts
    for _ in range(3):
        assert refusal(bad).rate_limited is False
    blocked = refusal(bad)
    assert blocked.rate_limited is True
    assert 0 < blocked.retry_after <= 60
    assert str(blocked) == "Too many failed authentication attempts; try again later."
    # A valid key is no guess: it passes from the blocked address (behind an untrusted proxy, every user's).
    assert auth(plaintext).user.username == "alice"
    assert refusal(bad).rate_limited is True
    # Another address is not affected.
    assert refusal(bad, ip="203.0.113.99").rate_limited is False
    # Once the window has passed, refusals are 401s again.
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 61)
    assert refusal(bad).rate_limited is False


@override_settings(AUTH_FAILURE_LIMIT=3)
def test_requests_without_credentials_count_like_failures():
    _, plaintext = api_key_create(user=make_user("alice"), name="k")
    for header in ("", "Basic abc", "Bearer"):
        assert refusal(None, header=header).rate_limited is False
    assert refusal(None, header="").rate_limited is True
    assert auth(plaintext).user.username == "alice"


@override_settings(AUTH_FAILURE_LIMIT=2)
def test_unknown_client_ip_is_limited_too():
    _, plaintext = api_key_create(user=make_user("alice"), name="k")
    for _ in range(2):
        with pytest.raises(AuthenticationFailed):
            authenticate_bearer("Bearer sk-stellar-nope", client_ip=None)
    with pytest.raises(AuthenticationFailed) as failure:
        authenticate_bearer("Bearer sk-stellar-nope", client_ip=None)
    assert failure.value.rate_limited is True
    assert authenticate_bearer(f"Bearer {plaintext}", client_ip=None).user.username == "alice"


# --- cost -------------------------------------------------------------------------------------------


def test_crypto_part_of_a_verification_is_far_below_a_millisecond():
    key, plaintext = api_key_create(user=make_user("alice"), name="k")
    n = 500
    start = time.process_time()
    for _ in range(n):
        assert parse_public_id(plaintext) and digest_matches(plaintext, key.digest)
    per_call = (time.process_time() - start) / n
    assert per_call < 0.0002


def test_a_verification_runs_three_queries_and_writes_last_used_once_a_minute():
    tenant = make_tenant("A")
    key, plaintext = api_key_create(user=make_user("alice", tenants=[tenant]), name="k")
    with CaptureQueriesContext(connection) as first:
        auth(plaintext)
    assert any(q["sql"].startswith("UPDATE") for q in first.captured_queries)
    key.refresh_from_db()
    assert key.last_used_at is not None
    with CaptureQueriesContext(connection) as second:
        auth(plaintext)
    assert len(second.captured_queries) <= 3, [q["sql"] for q in second.captured_queries]
    assert not any(q["sql"].startswith(("UPDATE", "INSERT", "DELETE")) for q in second.captured_queries)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(seconds=61))
    with CaptureQueriesContext(connection) as third:
        auth(plaintext)
    assert any(q["sql"].startswith("UPDATE") for q in third.captured_queries)
