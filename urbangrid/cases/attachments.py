"""Photos of a case: checked (size, type), verified and re-encoded by Pillow (JPEG, EXIF removed
except the orientation, which is applied), content-addressed by the sha256 of the re-encoded bytes
so a retried upload adds nothing. Stored through Django's storage API."""

from __future__ import annotations

import hashlib
import io

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from urbangrid.lib.errors import InvalidInput

from .choices import AttachmentStage
from .models import Attachment, attachment_path

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "MPO"}
MAX_PIXELS = 40_000_000
MAX_SIDE = 2560


def _read(upload) -> bytes:
    if isinstance(upload, (bytes, bytearray)):
        return bytes(upload)
    if hasattr(upload, "seek"):
        upload.seek(0)
    limit = settings.URBANGRID["UPLOAD_MAX_BYTES"]
    data = upload.read(limit + 1)
    return data


def normalise_image(upload) -> tuple[bytes, int, int]:
    """Verified JPEG bytes and size; InvalidInput for anything that is not a sane image."""
    data = _read(upload)
    limit = settings.URBANGRID["UPLOAD_MAX_BYTES"]
    if len(data) > limit:
        raise InvalidInput(
            _("The photo is larger than %(mb).0f MB.") % {"mb": limit / 1024 / 1024}, field="photos"
        )
    if not data:
        raise InvalidInput(_("The photo is empty."), field="photos")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            if fmt not in ALLOWED_FORMATS:
                raise InvalidInput(_("Only JPEG, PNG, WebP, GIF or BMP photos are accepted."), field="photos")
            if probe.width * probe.height > MAX_PIXELS:
                raise InvalidInput(_("The photo has too many pixels."), field="photos")
            probe.verify()
        with Image.open(io.BytesIO(data)) as im:
            im = ImageOps.exif_transpose(im)  # apply orientation, then drop all metadata
            im = im.convert("RGB")
            im.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            im.save(out, "JPEG", quality=85, optimize=False)
            return out.getvalue(), im.width, im.height
    except InvalidInput:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput(_("The file is not a valid image."), field="photos") from exc


def store(
    case, stage: str, upload, *, user=None, report=None, prepared=None, now=None
) -> tuple[Attachment, bool]:
    """Attach a photo to the case at ``stage`` (at ``now``, default the clock); (attachment, created).
    Idempotent by content."""
    if stage not in AttachmentStage.values:
        raise InvalidInput(_("Unknown photo stage."), field="stage")
    att = with_file(prepared or normalise_image(upload), stage, user=user, report=report, now=now)
    existing = Attachment.objects.filter(case=case, stage=stage, sha256=att.sha256).first()
    if existing is not None:
        return existing, False
    att.case = case
    try:
        with transaction.atomic():
            att.save()
    except IntegrityError:
        # A concurrent retry of the same upload won the unique constraint.
        return Attachment.objects.get(case=case, stage=stage, sha256=att.sha256), False
    return att, True


def with_file(
    prepared: tuple[bytes, int, int], stage: str, *, user=None, report=None, now=None
) -> Attachment:
    """The unsaved attachment row of a prepared photo (no case yet), its file written. Same bytes,
    same path: the file is written once however many cases share it, and a file whose transaction
    fails is the one its retry names."""
    jpeg, w, h = prepared
    att = Attachment(
        stage=stage,
        sha256=hashlib.sha256(jpeg).hexdigest(),
        extension="jpg",
        content_type="image/jpeg",
        size=len(jpeg),
        width=w,
        height=h,
        uploaded_by=user if getattr(user, "pk", None) else None,
        report=report,
        created_at=now or timezone.now(),
    )
    path = attachment_path(att, "")
    if not default_storage.exists(path):
        default_storage.save(path, ContentFile(jpeg))
    att.file.name = path
    return att


def store_many(case, stage: str, uploads, *, user=None, report=None) -> list[Attachment]:
    return [store(case, stage, u, user=user, report=report)[0] for u in uploads or []]


def prepare_many(uploads) -> list[tuple[bytes, int, int]]:
    """Validate every photo before anything is written (bad input changes nothing)."""
    return [normalise_image(u) for u in uploads or []]
