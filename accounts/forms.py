"""Forms of the admin pages and the profile page; they validate input and hand it to the services."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from accounts.models import ApiKey, ApiKeyScope
from accounts.services import MAX_EXPIRES_IN_DAYS, MAX_GRACE_MINUTES
from tenants.models import Tenant
from tenants.scope import tenants_available_to


class ApiKeyCreateForm(forms.Form):
    """A new key of a known owner (the profile page: the logged-in user)."""

    name = forms.CharField(max_length=ApiKey._meta.get_field("name").max_length, help_text="e.g. “Claude Code on my laptop”.")
    scope = forms.ChoiceField(
        choices=ApiKeyScope.choices, initial=ApiKeyScope.READ, widget=forms.RadioSelect, label="Permissions"
    )
    tenants = forms.ModelMultipleChoiceField(
        queryset=Tenant.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Restrict the key to these tenants. None selected: every tenant the owner can access.",
    )
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_EXPIRES_IN_DAYS,
        label="Expires in (days)",
        help_text="Leave empty for a key that does not expire.",
    )

    def __init__(self, *args, owner: AbstractBaseUser | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if owner is not None:
            self.fields["tenants"].queryset = tenants_available_to(owner)

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "scope": data["scope"],
            "tenant_ids": [t.cust_id for t in data["tenants"]],
            "expires_in_days": data["expires_in_days"],
        }


class AdminApiKeyCreateForm(ApiKeyCreateForm):
    """A new key for an active user: any user for a superuser, else the issuer alone (whoever issues a key
    sees its plaintext). The service checks the tenants against the owner's access and the issuer's."""

    user = forms.ModelChoiceField(queryset=get_user_model().objects.filter(is_active=True), label="Owner")
    field_order = ["name", "user", "scope", "tenants", "expires_in_days"]

    def __init__(self, *args, issuer: AbstractBaseUser, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not issuer.is_superuser:
            self.fields["user"].queryset = self.fields["user"].queryset.filter(pk=issuer.pk)
            self.fields["user"].help_text = "Only a superuser may issue a key for another user."
        self.fields["tenants"].queryset = Tenant.objects.all()
        self.fields["tenants"].widget = forms.SelectMultiple(attrs={"size": 8})
        self.fields["tenants"].help_text += " Each must be within the owner's tenant access."


class RevokeForm(forms.Form):
    reason = forms.CharField(
        max_length=ApiKey._meta.get_field("revoked_reason").max_length,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="Kept with the key, e.g. “laptop lost” or “employee left”.",
    )


class RotateForm(forms.Form):
    grace_minutes = forms.IntegerField(
        min_value=0,
        max_value=MAX_GRACE_MINUTES,
        initial=0,
        label="Grace period (minutes)",
        help_text=f"How long the old key keeps working while clients are updated, at most {MAX_GRACE_MINUTES} "
        "(7 days); 0 stops it at once.",
    )
