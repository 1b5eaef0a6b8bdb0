"""Open311 GeoReport v2 endpoints (/open311/v2/). ``.xml`` / ``.json`` select the format;
without an extension ``?format=`` does (default XML, the spec's required format)."""

from django.urls import re_path

from . import open311 as v

app_name = "open311"
FMT = r"(?:\.(?P<fmt>[A-Za-z]+))?"
urlpatterns = [
    re_path(rf"^discovery{FMT}$", v.discovery, name="discovery"),
    re_path(rf"^services{FMT}$", v.services, name="services"),
    re_path(rf"^services/(?P<code>[\w-]+?){FMT}$", v.service_definition, name="service_definition"),
    re_path(rf"^requests{FMT}$", v.requests_view, name="requests"),
    re_path(rf"^requests/(?P<request_id>[\w-]+?){FMT}$", v.get_request, name="request"),
    re_path(rf"^tokens/(?P<token>[\w-]+?){FMT}$", v.token_view, name="token"),
    re_path(rf"^servicerequestupdates{FMT}$", v.updates, name="updates"),
]
