"""Pages of the cases app: the photo views (the case pages themselves are the console's)."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.db.models import F
from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from . import queries
from .models import Attachment, Case


def _serve(att: Attachment) -> FileResponse:
    try:
        fh = default_storage.open(att.file.name, "rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    resp = FileResponse(fh, content_type=att.content_type)
    resp["Cache-Control"] = "private, max-age=86400"
    resp["X-Content-Type-Options"] = "nosniff"
    return resp


@require_GET
@login_required
def attachment(request, number: str, sha256: str):
    """A case photo for a user who may see the case (404 otherwise, like a missing photo)."""
    case = Case.objects.visible_to(request.user).filter(number=number).only("id").first()
    if case is None:
        raise Http404
    att = Attachment.objects.filter(case=case, sha256=sha256).first()
    if att is None:
        raise Http404
    return _serve(att)


@require_GET
def public_attachment(request, token: str, sha256: str):
    """A photo of a CLOSED case for the public portal, by the case's public token."""
    case = Case.objects.filter(public_token=token).only("id", "state").first()
    att = None if case is None else Attachment.objects.filter(case=case, sha256=sha256).first()
    if att is None or not queries.public_photo(att.stage, case.state):
        raise Http404
    return _public(_serve(att))


@require_GET
def media(request, name: str):
    """A stored photo by its storage name (MEDIA_URL), under the rules of the data: to everyone
    when the portal may show it, else to a user who may see its case, else 404. The file is
    streamed in chunks by the web worker itself (no X-Sendfile), so it works under gunicorn."""
    # Content-addressed: one file may belong to several cases or stages.
    found = Attachment.objects.filter(sha256=PurePosixPath(name).stem, file=name)
    rows = list(found.annotate(case_state=F("case__state")))
    if any(queries.public_photo(a.stage, a.case_state) for a in rows):
        return _public(_serve(rows[0]))
    if rows and request.user.is_authenticated:
        visible = Case.objects.visible_to(request.user).filter(id__in={a.case_id for a in rows})
        if visible.exists():
            return _serve(rows[0])
    raise Http404


def _public(resp: FileResponse) -> FileResponse:
    resp["Cache-Control"] = "public, max-age=86400"
    return resp
