"""One input-cleaning layer in front of every view: NUL characters and oversized bodies are
refused before any view, form or query sees them.

PostgreSQL cannot store a NUL character in text (the driver raises, the request would end in a
500), and no legitimate text contains one, so a NUL anywhere in the path, the query string, a form
field or a JSON body is refused with a 400. A body past ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused
with a 413. Each answer is in the format of the view it was meant for: the API's
``{"code", "detail"}`` JSON under /api/, the view's own ``bad_input`` renderer when it has one
(Open311, webhooks), and Django's 400 page for pages. Uploaded files are not inspected: binary
content may contain any byte.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.core.exceptions import BadRequest, RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

NUL = "\x00"
API_PREFIX = "/api/"

# (request, status, code, message) -> response in the view's own error format.
BadInputRenderer = Callable[[HttpRequest, int, str, str], HttpResponse]


def json_bad_input(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    """The API's error body (urbangrid.lib.errors.DomainError.as_dict)."""
    return JsonResponse(
        {"code": code, "detail": message}, status=status, json_dumps_params={"ensure_ascii": False}
    )


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _querydict_has_nul(qd) -> bool:
    return any(NUL in key or any(NUL in v for v in qd.getlist(key)) for key in qd)


def _body_has_nul(request: HttpRequest) -> bool:
    content_type = request.content_type or ""
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return _querydict_has_nul(request.POST)
    body = request.body
    if b"\x00" in body:
        return True
    if b"\\u0000" not in body:  # the cheap test first: JSON spells a NUL as \u0000
        return False
    try:
        return _has_nul(json.loads(body))
    except ValueError:
        return False  # not JSON: the view answers for a malformed body


def find_bad_input(request: HttpRequest) -> tuple[int, str, str] | None:
    """(status, code, message) when the request must be refused, else None."""
    try:
        if NUL in request.path_info or _querydict_has_nul(request.GET) or _body_has_nul(request):
            return 400, "invalid", _("The request contains a NUL character (\\x00), which is not allowed.")
    except RequestDataTooBig:
        return 413, "too_large", _("The request body is too large.")
    return None


class CleanInputMiddleware:
    """Refuses NUL characters and oversized bodies for every view (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        problem = find_bad_input(request)
        if problem is None:
            return None
        renderer: BadInputRenderer | None = getattr(view_func, "bad_input", None)
        if renderer is None and request.path.startswith(API_PREFIX):
            renderer = json_bad_input
        if renderer is None:
            raise BadRequest(problem[2])
        return renderer(request, *problem)
