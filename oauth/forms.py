"""The consent form: what the signed-in user lets a client do, and in which of their tenants."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import AbstractBaseUser

from tenants.models import Tenant
from tenants.scope import tenants_available_to

ACCESS_CHOICES = [("read", "Read only: list and read cases, alerts and tenants"),
                  ("read_write", "Read and write: also update cases (status, severity, assignee, tags)")]


class ConsentForm(forms.Form):
    access = forms.ChoiceField(choices=ACCESS_CHOICES, initial="read", widget=forms.RadioSelect, label="Permissions")
    tenants = forms.ModelMultipleChoiceField(
        queryset=Tenant.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="None selected: every tenant you can access.",
    )

    def __init__(self, *args, user: AbstractBaseUser, write_requested: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Read-write is offered only when the client asked for cases:write.
        if not write_requested:
            self.fields["access"].choices = ACCESS_CHOICES[:1]
        available = tenants_available_to(user)
        if available.count() > 1:
            self.fields["tenants"].queryset = available
        else:
            del self.fields["tenants"]

    def grant_scope(self) -> str:
        return self.cleaned_data["access"]

    def tenant_ids(self) -> list[str] | None:
        """The cust_ids the grant is limited to; None: the user's own, whatever they become."""
        chosen = self.cleaned_data.get("tenants")
        return [t.cust_id for t in chosen] if chosen else None
