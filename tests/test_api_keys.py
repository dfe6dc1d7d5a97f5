"""API keys: format, entropy, digest-only storage, and the create / revoke / rotate / touch services."""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from accounts.authentication import AuthenticationFailed, authenticate_bearer
from accounts.exceptions import ApiKeyError
from accounts.keys import (
    API_KEY_LENGTH,
    API_KEY_PREFIX,
    SECRET_ALPHABET,
    SECRET_LENGTH,
    generate_key,
    key_digest,
    parse_public_id,
)
from accounts.models import ApiKey, ApiKeyState
from accounts.selectors import api_key_state_filter
from accounts.services import (
    api_key_create,
    api_key_revoke,
    api_key_rotate,
    api_key_touch_last_used,
)
from tests.accounts_support import (
    assert_secret_nowhere_in_database,
    make_tenant,
    make_user,
    secret_of,
)

KEY_RE = re.compile(r"sk-stellar-[a-z0-9]{12}[A-Za-z0-9]{32}")


# --- format and entropy ------------------------------------------------------------------------


def test_key_format_is_prefix_public_id_secret():
    public_id, plaintext = generate_key()
    assert KEY_RE.fullmatch(plaintext)
    assert len(plaintext) == API_KEY_LENGTH == 55
    assert plaintext.startswith(API_KEY_PREFIX + public_id)
    assert parse_public_id(plaintext) == public_id


def test_secret_carries_at_least_160_bits():
    assert SECRET_LENGTH * math.log2(len(SECRET_ALPHABET)) >= 160
    secrets_ = [secret_of(generate_key().plaintext) for _ in range(2000)]
    assert len(set(secrets_)) == len(secrets_)
    # Every position draws from the whole alphabet, and no character is strongly favoured.
    for position in range(SECRET_LENGTH):
        assert len({s[position] for s in secrets_}) >= 55
    counts = Counter("".join(secrets_))
    assert set(counts) == set(SECRET_ALPHABET)
    mean = len(secrets_) * SECRET_LENGTH / len(SECRET_ALPHABET)
    assert all(0.75 * mean < n < 1.25 * mean for n in counts.values())


def test_public_ids_are_distinct():
    ids = [generate_key().public_id for _ in range(2000)]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "sk-stellar-",
        "sk-stellar-abc",
        "sk-stellar-" + "9f8e7d6c5b4a3210fedcba9876543210",  # the product doc's example: too short
        "sk-stellar-ABCDEFGHIJKL" + "a" * 32,  # upper case in the public id
        "sk-stellar-abcdefghijkl" + "a" * 31,  # one short
        "sk-stellar-abcdefghijkl" + "a" * 33,  # one long
        "sk-stellar-abcdefghijkl" + "a" * 31 + "-",
        " sk-stellar-abcdefghijkl" + "a" * 32,
        "sk-stellar-abcdefghijkl" + "a" * 32 + "\n",
        "xk-stellar-abcdefghijkl" + "a" * 32,
    ],
)
def test_malformed_keys_do_not_parse(value):
    assert parse_public_id(value) is None


# --- storage -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_a_peppered_digest_is_stored():
    tenant = make_tenant("Acme")
    user = make_user("alice", tenants=[tenant])
    key, plaintext = api_key_create(
        user=user, name="laptop", scope="read", tenant_ids=[tenant.cust_id], expires_in_days=30
    )
    key.refresh_from_db()
    assert re.fullmatch(r"[0-9a-f]{64}", key.digest)
    assert key.digest == key_digest(plaintext)
    # Not a bare hash: the server-side pepper is part of it.
    assert key.digest != hashlib.sha256(plaintext.encode()).hexdigest()
    with override_settings(API_KEY_PEPPER="another pepper"):
        assert key_digest(plaintext) != key.digest
    assert_secret_nowhere_in_database(plaintext)


@pytest.mark.django_db
def test_the_database_scan_would_see_a_stored_secret():
    """The scan itself can fail: a secret fragment kept in any column is found."""
    leaked = API_KEY_PREFIX + "abcdefghijkl" + "Q7" * 16
    api_key_create(user=make_user("alice"), name=f"oops {secret_of(leaked)[:16]}")
    with pytest.raises(AssertionError):
        assert_secret_nowhere_in_database(leaked)


@pytest.mark.django_db
def test_a_key_made_under_another_pepper_is_refused():
    user = make_user("alice")
    with override_settings(API_KEY_PEPPER="pepper one"):
        _, plaintext = api_key_create(user=user, name="k")
        authenticate_bearer(f"Bearer {plaintext}", client_ip="192.0.2.10")
    with override_settings(API_KEY_PEPPER="pepper two"), pytest.raises(AuthenticationFailed):
        authenticate_bearer(f"Bearer {plaintext}", client_ip="192.0.2.10")


# --- create ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_records_owner_scope_tenants_and_expiry():
    a, b = make_tenant("A"), make_tenant("B")
    user = make_user("alice", tenants=[a, b])
    before = timezone.now()
    key, _ = api_key_create(user=user, name="  ci  ", scope="read", tenant_ids=[b.cust_id], expires_in_days=7)
    key.refresh_from_db()
    assert (key.user, key.name, key.scope) == (user, "ci", "read")
    assert list(key.tenants.all()) == [b]
    assert before + timedelta(days=7) <= key.expires_at <= timezone.now() + timedelta(days=7)
    assert key.state_at(timezone.now()) == ApiKeyState.ACTIVE
    assert (key.revoked_at, key.last_used_at, key.rotated_from, key.grace_until) == (None, None, None, None)


@pytest.mark.django_db
def test_root_user_may_restrict_a_key_to_any_tenant():
    t = make_tenant("Anyone")
    root = make_user("root", root=True)
    key, _ = api_key_create(user=root, name="k", tenant_ids=[t.cust_id])
    assert list(key.tenants.all()) == [t]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "needs a name"),
        ({"name": "x" * 101}, "at most 100"),
        ({"scope": "admin"}, "Unknown scope"),
        ({"expires_in_days": 0}, "between 1 and"),
        ({"tenant_ids": ["0" * 32]}, "Unknown tenant"),
        ({"tenant_ids": ["OUTSIDE"]}, "outside the access of user alice"),
    ],
)
def test_create_refuses_bad_input(kwargs, message):
    mine, outside = make_tenant("Mine"), make_tenant("Outside")
    user = make_user("alice", tenants=[mine])
    if kwargs.get("tenant_ids") == ["OUTSIDE"]:
        kwargs = {**kwargs, "tenant_ids": [mine.cust_id, outside.cust_id]}
    with pytest.raises(ApiKeyError, match=message):
        api_key_create(user=user, **{"name": "k", **kwargs})
    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_user_without_tenant_access_cannot_restrict_to_a_tenant():
    t = make_tenant("T")
    user = make_user("nobody", access_row=False)
    with pytest.raises(ApiKeyError, match="outside the access"):
        api_key_create(user=user, name="k", tenant_ids=[t.cust_id])


@pytest.mark.django_db
def test_no_key_for_an_inactive_user():
    user = make_user("gone")
    user.is_active = False
    user.save()
    with pytest.raises(ApiKeyError, match="inactive"):
        api_key_create(user=user, name="k")


# --- revoke ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_revoke_is_recorded_and_permanent():
    admin_user = make_user("admin", superuser=True)
    key, _ = api_key_create(user=make_user("alice"), name="k")
    api_key_revoke(key=key, by=admin_user, reason="laptop lost")
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == admin_user and key.revoked_reason == "laptop lost"
    assert key.state_at(timezone.now()) == ApiKeyState.REVOKED
    with pytest.raises(ApiKeyError, match="already revoked"):
        api_key_revoke(key=key, reason="again")
    key.refresh_from_db()
    assert key.revoked_reason == "laptop lost"


# --- rotate ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotate_copies_owner_scope_tenants_and_lifetime():
    a, b = make_tenant("A"), make_tenant("B")
    user = make_user("alice", tenants=[a, b])
    old, old_plaintext = api_key_create(user=user, name="ci", scope="read", tenant_ids=[a.cust_id], expires_in_days=90)
    new, new_plaintext = api_key_rotate(key=old, grace_minutes=15)
    old.refresh_from_db()
    assert new_plaintext != old_plaintext and new.public_id != old.public_id
    assert (new.user, new.name, new.scope, new.rotated_from) == (user, "ci", "read", old)
    assert list(new.tenants.all()) == [a]
    assert abs((new.expires_at - new.created_at) - timedelta(days=90)) < timedelta(seconds=5)
    assert timedelta(minutes=14) < old.grace_until - timezone.now() <= timedelta(minutes=15)
    assert old.state_at(timezone.now()) == ApiKeyState.ROTATING
    assert old.state_at(old.grace_until) == ApiKeyState.ROTATED
    assert_secret_nowhere_in_database(new_plaintext)


@pytest.mark.django_db
def test_rotate_refuses_keys_that_are_not_active():
    user = make_user("alice")
    rotated, _ = api_key_create(user=user, name="a")
    api_key_rotate(key=rotated, grace_minutes=60)
    revoked, _ = api_key_create(user=user, name="b")
    api_key_revoke(key=revoked)
    expired, _ = api_key_create(user=user, name="c", expires_in_days=1)
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for key, word in ((rotated, "rotating"), (revoked, "revoked"), (expired, "expired")):
        with pytest.raises(ApiKeyError, match=word):
            api_key_rotate(key=key)
    for grace in (-1, 7 * 24 * 60 + 1, 10**12):
        with pytest.raises(ApiKeyError, match="from 0 to 10080 minutes"):
            api_key_rotate(key=api_key_create(user=user, name="d")[0], grace_minutes=grace)
    assert ApiKey.objects.filter(rotated_from__isnull=False).count() == 1


# --- last used ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_last_used_is_written_at_most_once_a_minute():
    key, _ = api_key_create(user=make_user("alice"), name="k")
    t0 = timezone.now()
    assert api_key_touch_last_used(key=key, now=t0) is True
    with CaptureQueriesContext(connection) as queries:
        assert api_key_touch_last_used(key=key, now=t0 + timedelta(seconds=59)) is False
    assert len(queries) == 0
    # A second worker holding a stale copy of the row does not write either.
    stale = ApiKey.objects.get(pk=key.pk)
    stale.last_used_at = None
    assert api_key_touch_last_used(key=stale, now=t0 + timedelta(seconds=30)) is False
    key.refresh_from_db()
    assert key.last_used_at == t0
    assert api_key_touch_last_used(key=key, now=t0 + timedelta(seconds=61)) is True
    key.refresh_from_db()
    assert key.last_used_at == t0 + timedelta(seconds=61)


# --- states ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_state_filter_agrees_with_state_at():
    user = make_user("alice")
    now = timezone.now()
    past, future = now - timedelta(minutes=5), now + timedelta(minutes=5)
    layouts = {
        "active": {},
        "active_with_expiry": {"expires_at": future},
        "expired": {"expires_at": past},
        "rotating": {"grace_until": future},
        "rotated": {"grace_until": past},
        "rotating_but_expired": {"grace_until": future, "expires_at": past},
        "revoked": {"revoked_at": past},
        "revoked_and_expired": {"revoked_at": past, "expires_at": past},
    }
    for name, fields in layouts.items():
        key, _ = api_key_create(user=user, name=name)
        ApiKey.objects.filter(pk=key.pk).update(**fields)
    seen = {}
    for key in ApiKey.objects.all():
        seen[key.name] = key.state_at(now)
        matching = ApiKey.objects.filter(api_key_state_filter(key.state_at(now), now))
        assert key in matching
        for other in set(ApiKeyState) - {key.state_at(now)}:
            assert key not in ApiKey.objects.filter(api_key_state_filter(other, now))
    assert seen == {
        "active": ApiKeyState.ACTIVE,
        "active_with_expiry": ApiKeyState.ACTIVE,
        "expired": ApiKeyState.EXPIRED,
        "rotating": ApiKeyState.ROTATING,
        "rotated": ApiKeyState.ROTATED,
        "rotating_but_expired": ApiKeyState.EXPIRED,
        "revoked": ApiKeyState.REVOKED,
        "revoked_and_expired": ApiKeyState.REVOKED,
    }

