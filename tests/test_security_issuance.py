"""Who may act as whom: only a key's owner, or a superuser within their own tenants, issues or rotates a
key (whoever does sees its plaintext); the rotation grace period is bounded; X-On-Behalf-Of names only a
user who may access the case's tenant. Listed with the other security cases in test_security_regressions.py."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.exceptions import ApiKeyError
from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_rotate
from cases.models import Activity, Case
from tests.factories import make_case, make_tenant, make_user
from tests.test_security_regressions import rest

# --- who may issue keys ----------------------------------------------------------------------------------


@pytest.fixture
def clerk(client):
    """Staff with the add and change permissions on API keys, and nothing else."""
    tenant = make_tenant("Acme")
    user = make_user("clerk", tenants=[tenant], is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["add_apikey", "change_apikey", "view_apikey"]))
    client.force_login(user)
    return client, user, tenant


@pytest.mark.django_db
def test_staff_issue_keys_for_themselves_only(clerk):
    client, user, tenant = clerk
    boss = make_user("boss", root=True, is_staff=True, is_superuser=True)
    add = reverse("admin:accounts_apikey_add")
    refused = client.post(add, {"name": "mine now", "user": boss.pk, "scope": "read_write"})
    assert refused.status_code == 200 and "sk-stellar-" not in refused.content.decode()
    assert not ApiKey.objects.filter(user=boss).exists()
    made = client.post(add, {"name": "own", "user": user.pk, "scope": "read"})
    assert "sk-stellar-" in made.content.decode()
    with pytest.raises(ApiKeyError, match="Only a superuser"):
        api_key_create(user=boss, name="x", issued_by=user)


@pytest.mark.django_db
def test_staff_cannot_rotate_anothers_key_to_see_it(clerk):
    client, _, _ = clerk
    boss_key, _ = api_key_create(user=make_user("boss", root=True, is_superuser=True), name="boss")
    response = client.post(reverse("admin:accounts_apikey_changelist"), {
        "action": "rotate_keys", ACTION_CHECKBOX_NAME: [boss_key.pk], "confirm": "1", "grace_minutes": "0"})
    assert "sk-stellar-" not in response.content.decode()
    assert "Only a superuser" in response.content.decode()
    assert ApiKey.objects.count() == 1


@pytest.mark.django_db
def test_a_superuser_cannot_issue_a_key_reaching_beyond_their_tenants():
    acme, globex = make_tenant("Acme"), make_tenant("Globex")
    admin = make_user("admin", tenants=[acme], is_staff=True, is_superuser=True)
    root = make_user("root", root=True)
    with pytest.raises(ApiKeyError, match="outside your own tenant access"):
        api_key_create(user=root, name="all", issued_by=admin)
    with pytest.raises(ApiKeyError, match="outside your own tenant access"):
        api_key_create(user=root, name="globex", tenant_ids=[globex.cust_id], issued_by=admin)
    key, _ = api_key_create(user=root, name="acme", tenant_ids=[acme.cust_id], issued_by=admin)
    assert api_key_rotate(key=key, by=admin)[0].restricted
    unrestricted, _ = api_key_create(user=root, name="all")
    with pytest.raises(ApiKeyError, match="outside your own tenant access"):
        api_key_rotate(key=unrestricted, by=admin)


@pytest.mark.django_db
def test_the_rotation_grace_period_is_bounded_in_the_admin(client):
    boss = make_user("boss", root=True, is_staff=True, is_superuser=True)
    client.force_login(boss)
    key, _ = api_key_create(user=boss, name="k")
    for grace in ("10081", "99999999999999999999999"):
        response = client.post(reverse("admin:accounts_apikey_changelist"), {
            "action": "rotate_keys", ACTION_CHECKBOX_NAME: [key.pk], "confirm": "1", "grace_minutes": grace})
        assert response.status_code == 200
        assert "less than or equal to 10080" in response.content.decode()
    assert ApiKey.objects.count() == 1


# --- X-On-Behalf-Of ------------------------------------------------------------------------------------


def test_on_behalf_of_names_only_users_who_may_access_the_case(live_url):
    acme, globex = make_tenant("Acme"), make_tenant("Globex")
    case = make_case(acme)
    make_user("ana", tenants=[acme])
    make_user("gus", tenants=[globex])
    make_user("gone", tenants=[acme], is_active=False)
    _, key = api_key_create(user=make_user("gateway", root=True), name="gateway")
    path = f"/v1/cases/{case.stellar_id}"
    for stranger in ("gus", "gone", "nobody"):
        refused = rest(live_url, key, "PUT", path, json={"severity": "Low"}, headers={"X-On-Behalf-Of": stranger})
        assert refused.status_code == 403, stranger
    assert Case.objects.get(pk=case.pk).version == 1
    assert rest(live_url, key, "PUT", path, json={"severity": "Low"}, headers={"X-On-Behalf-Of": "ana"}).status_code == 200
    assert Activity.objects.get(case=case).user_name.startswith("ana")
