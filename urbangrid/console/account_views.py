"""The signed-in person's own account: changing their password."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import password_validators_help_texts
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from urbangrid.lib.errors import DomainError
from urbangrid.orgs.actions import do_change_password
from urbangrid.orgs.forms import ChangePasswordForm


@login_required
def password_change(request):
    form = ChangePasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            do_change_password(
                request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            update_session_auth_hash(request, request.user)  # stay signed in here only
            messages.success(request, _("Your password was changed."))
            return redirect("console:home")
    return render(
        request,
        "console/password_change.html",
        {"form": form, "rules": password_validators_help_texts()},
    )
