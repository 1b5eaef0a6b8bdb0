"""The JSON API (/api/v1/): one NinjaAPI, one router per app, one translation of DomainError."""

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from urbangrid.cases.api import router as cases
from urbangrid.catalog.api import router as catalog
from urbangrid.credit.api import router as credit
from urbangrid.evaluation.api import router as evaluation
from urbangrid.geo.api import router as geo
from urbangrid.joint.api import router as joint
from urbangrid.lib.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from urbangrid.orgs.api import router as orgs
from urbangrid.orgs.auth import STAFF_AUTH
from urbangrid.patrol.api import router as patrol
from urbangrid.portal.api import router as portal

api = NinjaAPI(
    title="urbangrid API",
    version="1",
    description="网格化综合监管平台接口 — grid-based urban supervision platform API",
    urls_namespace="api",
    auth=STAFF_AUTH,
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    return api.create_response(
        request,
        {"code": "invalid", "detail": _("The request is not valid."), "errors": exc.errors},
        status=422,
    )


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return api.create_response(request, {"code": "unauthorized", "detail": _("Please sign in.")}, status=401)


# ninja's own errors (an unparsable body, get_object_or_404) get the same body as ours.
_CODES = {e.status: e.code for e in (InvalidInput, PermissionDenied, NotFound, Conflict)}


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    # ninja raises these two itself, in English: a body it cannot parse and a failed CSRF check.
    detail = {
        400: _("The request body could not be read: send valid JSON."),
        403: _("The CSRF check failed: reload the page and try again."),
    }.get(exc.status_code, exc.message)
    return api.create_response(
        request, {"code": _CODES.get(exc.status_code, "error"), "detail": detail}, status=exc.status_code
    )


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return api.create_response(request, NotFound(_("Not found.")).as_dict(), status=404)


def _mount() -> None:

    for prefix, router in [
        ("/geo/", geo),
        ("/catalog/", catalog),
        ("/orgs/", orgs),
        ("/cases/", cases),
        ("/patrol/", patrol),
        ("/joint/", joint),
        ("/credit/", credit),
        ("/evaluation/", evaluation),
        ("/public/", portal),
    ]:
        api.add_router(prefix, router)


_mount()
