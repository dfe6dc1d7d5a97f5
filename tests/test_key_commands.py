"""manage.py create_api_key / list_api_keys / revoke_api_key / rotate_api_key: success and error paths."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from accounts.authentication import AuthenticationFailed, authenticate_bearer
from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke, api_key_rotate
from tests.accounts_support import (
    assert_secret_nowhere_in_database,
    make_tenant,
    make_user,
    secret_of,
)
from tests.conftest import ROOT, database_url_for

IP = "192.0.2.44"
KEY_RE = re.compile(r"sk-stellar-[a-z0-9]{12}[A-Za-z0-9]{32}")


@pytest.fixture(autouse=True)
def _fresh_rate_limit_counters(db):
    cache.clear()


def run(*args) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def authenticates(plaintext: str):
    return authenticate_bearer(f"Bearer {plaintext}", client_ip=IP)


# --- help ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("create_api_key", ["--user", "--name", "--read-only", "--tenant", "--expires-in-days"]),
        ("list_api_keys", ["--user"]),
        ("revoke_api_key", ["KEY_ID", "--reason"]),
        ("rotate_api_key", ["KEY_ID", "--grace-minutes"]),
    ],
)
def test_every_command_has_help(name, options):
    help_text = load_command_class("accounts", name).create_parser("manage.py", name).format_help()
    for option in options:
        assert option in help_text
    assert len(load_command_class("accounts", name).help) > 20


# --- create_api_key ------------------------------------------------------------------------------


def test_create_prints_the_key_alone_on_the_last_line():
    tenant = make_tenant("Acme")
    make_user("alice", tenants=[tenant])
    lines = run("create_api_key", "--user", "alice", "--name", "laptop")
    plaintext = lines[-1]
    assert KEY_RE.fullmatch(plaintext)
    principal = authenticates(plaintext)
    assert principal.user.username == "alice" and principal.scope == "read_write"
    key = ApiKey.objects.get()
    assert key.name == "laptop" and key.public_id in lines[0]
    assert plaintext not in "\n".join(lines[:-1])
    assert_secret_nowhere_in_database(plaintext)


def test_create_with_read_only_tenants_and_expiry():
    a, b, c = make_tenant("A"), make_tenant("B"), make_tenant("C")
    make_user("alice", tenants=[a, b, c])
    before = timezone.now()
    lines = run(
        "create_api_key", "--user", "alice", "--read-only", "--tenant", a.cust_id, "--tenant", b.cust_id,
        "--expires-in-days", "7",
    )
    principal = authenticates(lines[-1])
    assert principal.scope == "read"
    assert principal.tenants.cust_ids == {a.cust_id, b.cust_id}
    key = ApiKey.objects.get()
    assert before + timedelta(days=7) <= key.expires_at <= timezone.now() + timedelta(days=7)
    # Several ids after one --tenant work too.
    lines = run("create_api_key", "--user", "alice", "--tenant", b.cust_id, c.cust_id)
    assert authenticates(lines[-1]).tenants.cust_ids == {b.cust_id, c.cust_id}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody"], "Unknown user 'nobody'"),
        (["--user", "alice", "--tenant", "OUTSIDE"], "outside the access of user alice"),
        (["--user", "alice", "--tenant", "f" * 32], "Unknown tenant"),
        (["--user", "alice", "--expires-in-days", "0"], "between 1 and"),
        (["--user", "alice", "--name", " "], "needs a name"),
    ],
)
def test_create_errors(args, message):
    mine, outside = make_tenant("Mine"), make_tenant("Outside")
    make_user("alice", tenants=[mine])
    args = [outside.cust_id if a == "OUTSIDE" else a for a in args]
    with pytest.raises(CommandError, match=message):
        run("create_api_key", *args)
    assert not ApiKey.objects.exists()


# --- list_api_keys -------------------------------------------------------------------------------


def test_list_shows_every_key_with_its_state_and_no_secret():
    a = make_tenant("A")
    alice = make_user("alice", tenants=[a])
    bob = make_user("bob")
    active, active_plain = api_key_create(user=alice, name="active one", scope="read", tenant_ids=[a.cust_id])
    revoked, _ = api_key_create(user=alice, name="revoked one")
    api_key_revoke(key=revoked)
    rotating, _ = api_key_create(user=bob, name="rotating one", expires_in_days=5)
    successor, successor_plain = api_key_rotate(key=rotating, grace_minutes=30)
    expired, _ = api_key_create(user=bob, name="expired one", expires_in_days=1)
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    rotated, _ = api_key_create(user=bob, name="rotated one")
    api_key_rotate(key=rotated, grace_minutes=0)

    lines = run("list_api_keys")
    header = lines[0].split()
    assert header[:4] == ["KEY", "ID", "KIND", "NAME"]
    for column in ("SCOPE", "TENANTS", "CREATED", "EXPIRES", "LAST USED", "STATE"):
        assert column in lines[0]
    by_id = {line.split()[0]: line for line in lines[1:-1]}
    assert set(by_id) == set(ApiKey.objects.values_list("public_id", flat=True))
    assert by_id[active.public_id].endswith("active") and a.cust_id in by_id[active.public_id]
    assert "read " in by_id[active.public_id] and "alice" in by_id[active.public_id]
    assert by_id[revoked.public_id].endswith("revoked")
    assert by_id[rotating.public_id].endswith("rotating")
    assert by_id[successor.public_id].endswith("active")
    assert by_id[expired.public_id].endswith("expired")
    assert by_id[rotated.public_id].endswith("rotated")
    text = "\n".join(lines)
    for key in ApiKey.objects.all():
        assert key.digest not in text
    for plain in (active_plain, successor_plain):
        assert secret_of(plain) not in text

    only_alice = run("list_api_keys", "--user", "alice")
    assert {line.split()[0] for line in only_alice[1:-1]} == {active.public_id, revoked.public_id}


def test_list_errors_and_empty():
    assert run("list_api_keys") == ["No API keys."]
    with pytest.raises(CommandError, match="Unknown user 'ghost'"):
        run("list_api_keys", "--user", "ghost")


# --- revoke_api_key ------------------------------------------------------------------------------


def test_revoke_stops_the_key_and_keeps_the_reason():
    key, plaintext = api_key_create(user=make_user("alice"), name="k")
    authenticates(plaintext)
    lines = run("revoke_api_key", key.public_id, "--reason", "laptop stolen")
    assert key.public_id in lines[-1]
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_reason == "laptop stolen"
    with pytest.raises(AuthenticationFailed):
        authenticates(plaintext)


def test_revoke_errors():
    key, _ = api_key_create(user=make_user("alice"), name="k")
    with pytest.raises(CommandError, match="Unknown key id 'nosuchkey000'"):
        run("revoke_api_key", "nosuchkey000")
    run("revoke_api_key", key.public_id)
    with pytest.raises(CommandError, match="already revoked"):
        run("revoke_api_key", key.public_id)


# --- rotate_api_key ------------------------------------------------------------------------------


def test_rotate_prints_a_working_key_and_stops_the_old_one():
    a = make_tenant("A")
    key, old_plain = api_key_create(user=make_user("alice", tenants=[a]), name="k", scope="read", tenant_ids=[a.cust_id])
    lines = run("rotate_api_key", key.public_id)
    new_plain = lines[-1]
    assert KEY_RE.fullmatch(new_plain) and new_plain != old_plain
    principal = authenticates(new_plain)
    assert principal.api_key.rotated_from_id == key.pk
    assert (principal.scope, principal.tenants.cust_ids) == ("read", {a.cust_id})
    with pytest.raises(AuthenticationFailed):
        authenticates(old_plain)
    assert_secret_nowhere_in_database(new_plain)


def test_rotate_with_grace_keeps_the_old_key_until_then():
    key, old_plain = api_key_create(user=make_user("alice"), name="k")
    lines = run("rotate_api_key", key.public_id, "--grace-minutes", "30")
    authenticates(lines[-1])
    authenticates(old_plain)
    key.refresh_from_db()
    assert timedelta(minutes=29) < key.grace_until - timezone.now() <= timedelta(minutes=30)
    ApiKey.objects.filter(pk=key.pk).update(grace_until=timezone.now() - timedelta(seconds=1))
    with pytest.raises(AuthenticationFailed):
        authenticates(old_plain)


def test_rotate_errors():
    key, _ = api_key_create(user=make_user("alice"), name="k")
    with pytest.raises(CommandError, match="Unknown key id"):
        run("rotate_api_key", "nosuchkey000")
    for grace in ("-5", "10081"):
        with pytest.raises(CommandError, match="from 0 to 10080 minutes"):
            run("rotate_api_key", key.public_id, "--grace-minutes", grace)
    api_key_revoke(key=key)
    with pytest.raises(CommandError, match="is revoked"):
        run("rotate_api_key", key.public_id)
    assert ApiKey.objects.count() == 1


# --- through manage.py: exit status and one clear line ------------------------------------------


def manage(*args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for(connection.settings_dict),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "API_KEY_PEPPER": settings.API_KEY_PEPPER,
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.django_db(transaction=True)
def test_manage_py_exit_status_and_output():
    make_user("alice")
    created = manage("create_api_key", "--user", "alice", "--name", "from the shell")
    assert created.returncode == 0, created.stderr
    assert KEY_RE.fullmatch(created.stdout.splitlines()[-1])
    assert authenticates(created.stdout.splitlines()[-1]).user.username == "alice"
    for args, message in (
        (("create_api_key", "--user", "ghost"), "Unknown user 'ghost'."),
        (("revoke_api_key", "nosuchkey000"), "Unknown key id 'nosuchkey000'"),
        (("rotate_api_key", "nosuchkey000"), "Unknown key id 'nosuchkey000'"),
        (("list_api_keys", "--user", "ghost"), "Unknown user 'ghost'."),
    ):
        failed = manage(*args)
        assert failed.returncode != 0
        assert failed.stdout == ""
        assert len(failed.stderr.strip().splitlines()) == 1 and message in failed.stderr
