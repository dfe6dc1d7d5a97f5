"""Helpers for the accounts tests: users with tenant access, and a scan of the whole database for secrets."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from accounts.keys import API_KEY_PREFIX, PUBLIC_ID_LENGTH
from tenants.models import Tenant, TenantAccess


def make_tenant(name: str) -> Tenant:
    return Tenant.objects.create(cust_name=name, created_at=timezone.now())


def make_user(
    username: str,
    *,
    tenants: Iterable[Tenant] = (),
    root: bool = False,
    access_row: bool = True,
    staff: bool = False,
    superuser: bool = False,
    password: str | None = None,
):
    user = get_user_model().objects.create_user(
        username, password=password, is_staff=staff or superuser, is_superuser=superuser
    )
    if access_row:
        access = TenantAccess.objects.create(user=user, all_tenants=root)
        access.tenants.set(list(tenants))
    return user


def secret_of(plaintext: str) -> str:
    return plaintext[len(API_KEY_PREFIX) + PUBLIC_ID_LENGTH :]


def _decodings(value: object) -> list[str]:
    """The cell as text, plus its base64 decoding when it is base64 (cache values, some sessions)."""
    if value is None:
        return []
    if isinstance(value, (bytes, memoryview)):
        text = bytes(value).decode("utf-8", "replace")
    else:
        text = str(value)
    out = [text]
    try:
        out.append(base64.b64decode(text, validate=True).decode("utf-8", "replace"))
    except (binascii.Error, ValueError):
        pass
    return out


def database_text() -> str:
    """Every cell of every table (and every decoded session) as one text blob."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for cell in row:
                    chunks.extend(_decodings(cell))
    for session in Session.objects.all():
        chunks.append(repr(session.get_decoded()))
    return "\n".join(chunks)


def assert_secret_nowhere_in_database(plaintext: str) -> None:
    """Neither the key nor its secret part, nor a 16-character piece of the secret, is stored anywhere."""
    blob = database_text()
    secret = secret_of(plaintext)
    assert len(secret) >= 32
    for needle in (plaintext, secret, secret[:16], secret[-16:]):
        assert needle not in blob, "a secret (or part of one) is stored in the database"
