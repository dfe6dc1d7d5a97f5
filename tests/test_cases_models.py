"""The case data model: database constraints, id formats, defaults and derived columns."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from cases.models import Alert, Case, CaseTag, Comment, Observable
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant() -> Tenant:
    return Tenant.objects.create(cust_name="Acme Corp", created_at=timezone.now())


def new_case(tenant: Tenant, ticket_id: int = 1000, **fields) -> Case:
    now = timezone.now()
    return Case(tenant=tenant, ticket_id=ticket_id, name="Ransomware on WS-042", created_at=now, modified_at=now,
                **fields)


def refused_by_database(case: Case) -> bool:
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:
        return True
    return False


def test_defaults_and_generated_ids(tenant: Tenant) -> None:
    case = new_case(tenant)
    case.save()
    case.refresh_from_db()
    assert case.version == 1
    assert case.status == "New" and case.severity == "Medium" and case.score == 0
    assert len(case.stellar_id) == 24 and int(case.stellar_id, 16) >= 0
    assert len(tenant.cust_id) == 32 and int(tenant.cust_id, 16) >= 0
    case.full_clean()
    tenant.full_clean()


@pytest.mark.parametrize("score, refused", [(0, False), (100, False), (91.8, False), (-0.1, True), (100.5, True)])
def test_score_must_be_between_0_and_100(tenant: Tenant, score: float, refused: bool) -> None:
    assert refused_by_database(new_case(tenant, score=score)) is refused


@pytest.mark.parametrize("score", [-1, 101])
def test_full_clean_refuses_an_out_of_range_score(tenant: Tenant, score: float) -> None:
    with pytest.raises(ValidationError) as err:
        new_case(tenant, score=score).full_clean()
    assert "score" in err.value.error_dict


@pytest.mark.parametrize(
    "field, value",
    [("status", "Open"), ("status", "cancelled"), ("severity", "Urgent"), ("severity", "critical"),
     ("resolution", "Maybe")],
)
def test_choice_fields_are_enforced_by_the_database(tenant: Tenant, field: str, value: str) -> None:
    assert refused_by_database(new_case(tenant, **{field: value}))


@pytest.mark.parametrize(
    "field, value",
    [("status", "Cancelled"), ("status", "Escalated"), ("severity", "Critical"), ("resolution", "False Positive"),
     ("resolution", "")],
)
def test_valid_choices_are_accepted(tenant: Tenant, field: str, value: str) -> None:
    assert not refused_by_database(new_case(tenant, **{field: value}))


def test_ticket_id_is_unique(tenant: Tenant) -> None:
    new_case(tenant, ticket_id=7443).save()
    assert refused_by_database(new_case(tenant, ticket_id=7443))
    assert not refused_by_database(new_case(tenant, ticket_id=7444))


def test_case_id_is_unique(tenant: Tenant) -> None:
    new_case(tenant, ticket_id=1, stellar_id="65f9d988b190d36b26ad2e02").save()
    assert refused_by_database(new_case(tenant, ticket_id=2, stellar_id="65f9d988b190d36b26ad2e02"))


@pytest.mark.parametrize(
    "value, valid",
    [("65f9d988b190d36b26ad2e02", True), ("65F9D988B190D36B26AD2E02", False), ("65f9d988b190d36b26ad2e0", False),
     ("65f9d988b190d36b26ad2e02a", False), ("zzf9d988b190d36b26ad2e02", False)],
)
def test_case_id_format_is_24_lowercase_hex(tenant: Tenant, value: str, valid: bool) -> None:
    case = new_case(tenant, stellar_id=value)
    if valid:
        case.full_clean()
    else:
        with pytest.raises(ValidationError) as err:
            case.full_clean()
        assert "stellar_id" in err.value.error_dict


@pytest.mark.parametrize(
    "value, valid",
    [("6aeb2aae7d8d4ef0820136f42d107db4", True), ("6aeb2aae7d8d4ef0820136f42d107db", False),
     ("6aeb2aae-7d8d-4ef0-8201-36f42d107db4", False), ("6AEB2AAE7D8D4EF0820136F42D107DB4", False)],
)
def test_cust_id_format_is_32_lowercase_hex(value: str, valid: bool) -> None:
    tenant = Tenant(cust_id=value, cust_name="Acme Corp", created_at=timezone.now())
    if valid:
        tenant.full_clean()
    else:
        with pytest.raises(ValidationError) as err:
            tenant.full_clean()
        assert "cust_id" in err.value.error_dict


def test_cust_id_is_unique(tenant: Tenant) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Tenant.objects.create(cust_id=tenant.cust_id, cust_name="Other", created_at=timezone.now())


def test_save_derives_severity_rank_and_search_text(tenant: Tenant) -> None:
    analyst = get_user_model().objects.create_user("analyst-1")
    case = new_case(tenant, ticket_id=1300, severity="Critical", tags=["Phishing", "email"], assignee=analyst,
                    summary="Observed 1 tactics: Impact")
    case.save()
    case.refresh_from_db()
    assert case.severity_rank == 4
    for word in ("1300", "ransomware on ws-042", "phishing", "email", "analyst-1", "observed 1 tactics: impact"):
        assert word in case.search_text
    case.severity = "Low"
    case.save()
    assert Case.objects.get(pk=case.pk).severity_rank == 1


def test_a_tag_row_is_unique_per_case(tenant: Tenant) -> None:
    case = new_case(tenant)
    case.save()
    CaseTag.objects.create(case=case, tag="phishing")
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseTag.objects.create(case=case, tag="phishing")


def test_stellar_uuid_is_unique(tenant: Tenant) -> None:
    fields = dict(index="aella-ser-2026.11.25", stellar_uuid="aa64a0fe-7c59-449a-96fa-4249ecea8b58", tenant=tenant,
                  timestamp=timezone.now(), source={})
    Alert.objects.create(es_id="rUNZvFLWQytC4nCz0FB7", **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(es_id="another-id-000000000", **fields)


def test_a_tenant_with_cases_cannot_be_deleted(tenant: Tenant) -> None:
    new_case(tenant).save()
    with pytest.raises(ProtectedError):
        tenant.delete()


def test_deleting_a_case_removes_its_history_and_keeps_its_alerts(tenant: Tenant) -> None:
    case = new_case(tenant)
    case.save()
    now = timezone.now()
    Comment.objects.create(case=case, user_name="soc-admin", comment="Isolated the host.", created_at=now,
                           modified_at=now)
    Observable.objects.create(case=case, type="ip", value="131.186.44.94", first_seen=now, last_seen=now)
    alert = Alert.objects.create(es_id="rUNZvFLWQytC4nCz0FB7", index="aella-ser-2026.11.25", stellar_uuid="u-1",
                                 tenant=tenant, case=case, timestamp=now, source={})
    case.delete()
    assert not Comment.objects.exists() and not Observable.objects.exists()
    alert.refresh_from_db()
    assert alert.case_id is None
