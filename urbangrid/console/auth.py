"""Sign-in with lockout (see lockout.py) and the role-based landing page."""

from __future__ import annotations

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext as _

from . import lockout


class LockoutAuthenticationForm(AuthenticationForm):
    """Django's form, refusing locked (user name, IP) pairs before the password is checked."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "",  # filled in __init__ (translated at request time)
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.error_messages = {
            **self.error_messages,
            "invalid_login": _("Wrong user name or password."),
            "inactive": _("This account is disabled."),
        }
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = lockout.client_ip(self.request) if self.request else ""
        until = lockout.locked_until(username, ip)
        if until is not None:
            minutes = max(1, int((until - timezone.now()).total_seconds() // 60) + 1)
            raise forms.ValidationError(
                _(
                    "Too many failed sign-in attempts. This account is locked on this computer for %(m)d more minutes."
                )
                % {"m": minutes},
                code="locked",
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            lockout.record(username, ip, False)
            left = lockout.max_failures() - _recent_failures(username, ip)
            if 0 < left <= 2:
                self.add_error(None, _("%(n)d attempts left before the account is locked.") % {"n": left})
            elif lockout.locked_until(username, ip) is not None:
                raise forms.ValidationError(
                    _(
                        "Too many failed sign-in attempts. This account is locked on this computer for %(m)d more minutes."
                    )
                    % {"m": int(lockout.lock_time().total_seconds() // 60)},
                    code="locked",
                ) from None
            raise
        lockout.record(username, ip, True)
        return cleaned


def _recent_failures(username: str, ip: str) -> int:
    from .models import LoginAttempt

    since = timezone.now() - lockout.window()
    last_ok = (
        LoginAttempt.objects.filter(username=username.strip().lower(), ip=ip, success=True)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if last_ok and last_ok > since:
        since = last_ok
    return LoginAttempt.objects.filter(
        username=username.strip().lower(), ip=ip, success=False, at__gt=since
    ).count()


class LoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = LockoutAuthenticationForm
    redirect_authenticated_user = True
