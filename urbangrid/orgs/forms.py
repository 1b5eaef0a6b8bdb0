"""Forms of the orgs pages: setting a password (one's own, or an administrator's reset)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from urbangrid.lib.errors import DomainError


def _password_field(label, autocomplete="new-password"):
    return forms.CharField(
        label=label,
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


class NewPasswordForm(forms.Form):
    """A new password typed twice; the action applies the password validators."""

    new_password1 = _password_field(gettext_lazy("New password"))
    new_password2 = _password_field(gettext_lazy("New password again"))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("new_password1") != cleaned.get("new_password2"):
            self.add_error("new_password2", _("The two passwords differ."))
        return cleaned

    def add_domain_error(self, exc: DomainError) -> None:
        self.add_error("new_password1" if exc.field == "new_password" else None, exc.message)


class ChangePasswordForm(NewPasswordForm):
    old_password = _password_field(gettext_lazy("Current password"), "current-password")
    field_order = ["old_password", "new_password1", "new_password2"]

    def add_domain_error(self, exc: DomainError) -> None:
        if exc.field == "old_password":
            self.add_error("old_password", exc.message)
        else:
            super().add_domain_error(exc)
