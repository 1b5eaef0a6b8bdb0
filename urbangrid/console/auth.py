"""Sign-in with lockout (see lockout.py) on both login forms, /login/ and /admin/login/."""

from __future__ import annotations

import math

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext as _

from . import lockout


class LockoutMixin:
    """Refuses locked user names before the password is checked and records every outcome, so
    that failures on either form count against both."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = lockout.client_ip(self.request) if self.request else ""
        now = timezone.now()
        self._refuse_if_locked(username, ip, now)
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            # A right password refused for another reason (not staff on /admin/) is no guess.
            if self.user_cache is not None:
                raise
            lockout.record(username, ip, False, now)
            self._refuse_if_locked(username, ip, now)
            left = lockout.attempts_left(username, ip, now)
            if 0 < left <= 2:
                self.add_error(None, _("%(n)d attempts left before the account is locked.") % {"n": left})
            raise
        lockout.record(username, ip, True, now)
        return cleaned

    def _refuse_if_locked(self, username: str, ip: str, now) -> None:
        pair = lockout.pair_locked_until(username, ip, now)
        account = lockout.account_locked_until(username, now)
        if pair is None and account is None:
            return
        until = max(t for t in (pair, account) if t)
        minutes = max(1, math.ceil((until - now).total_seconds() / 60))
        if account is not None and until == account:
            message = _(
                "Too many failed sign-in attempts on this account. Sign-in is paused for %(m)d more minutes."
            )
        else:
            message = _(
                "Too many failed sign-in attempts. This account is locked on this computer for %(m)d more minutes."
            )
        raise forms.ValidationError(message % {"m": minutes}, code="locked")


class LockoutAuthenticationForm(LockoutMixin, AuthenticationForm):
    """The console's sign-in form."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.error_messages = {
            **self.error_messages,
            "invalid_login": _("Wrong user name or password."),
            "inactive": _("This account is disabled."),
        }
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})


class LockoutAdminAuthenticationForm(LockoutMixin, AdminAuthenticationForm):
    """The admin's sign-in form, under the same lockout (set on admin.site in urls.py)."""


class LoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = LockoutAuthenticationForm
    redirect_authenticated_user = True
