"""What the key commands share: finding a user or a key by what an operator types."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import CommandError

from accounts.models import ApiKey
from accounts.selectors import api_key_get


def user_by_username(username: str) -> AbstractBaseUser:
    try:
        return get_user_model().objects.get_by_natural_key(username)
    except get_user_model().DoesNotExist:
        raise CommandError(f"Unknown user {username!r}.") from None


def key_by_public_id(public_id: str) -> ApiKey:
    key = api_key_get(public_id=public_id)
    if key is None:
        raise CommandError(f"Unknown key id {public_id!r} (list_api_keys shows the key ids).")
    return key
