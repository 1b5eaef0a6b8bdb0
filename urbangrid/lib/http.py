"""Small HTTP helpers shared by the pages."""

from __future__ import annotations

from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def redirect_back(request, fallback: str, *args):
    """Redirect to the page the request came from when it is on this site, else to ``fallback``
    (a URL name or path). A Referer is client-supplied: following it blindly is an open redirect."""
    referer = request.META.get("HTTP_REFERER") or ""
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(referer)
    return redirect(fallback, *args)
