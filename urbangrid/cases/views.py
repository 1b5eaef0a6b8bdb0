"""Pages of the cases app: the photo views (the case pages themselves are the console's)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from .choices import AttachmentStage, CaseState
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
    """Before/after photos of a CLOSED case for the public portal, by the case's public token."""
    case = Case.objects.filter(public_token=token, state=CaseState.CLOSED).only("id").first()
    if case is None:
        raise Http404
    att = Attachment.objects.filter(
        case=case, sha256=sha256, stage__in=[AttachmentStage.BEFORE, AttachmentStage.AFTER]
    ).first()
    if att is None:
        raise Http404
    resp = _serve(att)
    resp["Cache-Control"] = "public, max-age=86400"
    return resp
