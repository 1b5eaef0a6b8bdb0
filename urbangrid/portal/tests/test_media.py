"""Photos are served by the platform itself (MEDIA_URL) under the rules of the data: to everyone
only what the portal may show (photos of a closed case), otherwise only to users who may see the
case; everything else answers 404 like a missing file."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from urbangrid.portal.tests.test_portal import form
from urbangrid.testing.world import jpeg

pytestmark = pytest.mark.django_db


def _case_with_report_photo(city, client):
    from urbangrid.cases.models import Case

    photo = SimpleUploadedFile("p.jpg", jpeg((120, 40, 40)), content_type="image/jpeg")
    r = client.post("/public/", form(city, photos=photo))
    assert r.status_code == 302
    case = Case.objects.get(public_token=r["Location"].rstrip("/").split("/")[-1])
    return case, case.attachments.get(stage="report")


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_report_photo_of_an_open_case_is_not_public(city, client):
    case, att = _case_with_report_photo(city, client)
    assert case.state != "closed"
    assert client.get(att.file.url).status_code == 404
    assert client.get(f"/cases/public/{case.public_token}/photos/{att.sha256}.jpg").status_code == 404
    for url in [f"/public/c/{case.public_token}/", "/open311/v2/requests.json"]:
        assert att.file.url not in client.get(url).content.decode(), url


def test_a_photo_of_a_closed_case_is_public_and_streamed(city, client):
    from urbangrid.cases.models import Case

    case, att = _case_with_report_photo(city, client)
    Case.objects.filter(pk=case.pk).update(state="closed", closed_at=timezone.now())
    assert att.file.url in client.get(f"/public/c/{case.public_token}/").content.decode()
    r = Client().get(att.file.url)
    assert r.status_code == 200 and r.streaming and r["Content-Type"] == "image/jpeg"
    assert r["Cache-Control"].startswith("public") and _body(r) == att.file.open("rb").read()


def test_a_staff_photo_reaches_only_users_who_may_see_the_case(city, client):
    _case, att = _case_with_report_photo(city, client)
    inside = city.demo.client_for("grid_worker", street=city.streets[0])
    r = inside.get(att.file.url)
    assert r.status_code == 200 and r["Cache-Control"].startswith("private")
    assert _body(r)[:2] == b"\xff\xd8"  # a JPEG
    outside = city.demo.client_for("grid_worker", street=city.streets[1])
    assert outside.get(att.file.url).status_code == 404


def test_media_answers_404_for_anything_but_a_stored_photo(city, client):
    _case, att = _case_with_report_photo(city, client)
    admin = city.demo.client_for("dispatcher")
    for name in ["cases/../../settings.py", "cases/xx/missing.jpg", "evaluation/reports/x.xlsx"]:
        assert admin.get("/media/" + name).status_code == 404, name
