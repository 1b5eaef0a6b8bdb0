"""Credit pages and API: rendering, masking per role, the public page, validation messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from urbangrid.credit import actions as A
from urbangrid.credit.models import Subject

pytestmark = pytest.mark.django_db
IDN = "11010519491231002X"


def register_wang(officer, street):
    """王小明, a stall owner on ``street``."""
    return A.do_register_subject(
        officer, kind="stall_owner", name="王小明", id_number=IDN, phone="13812345678", region=street
    )


def client(user):
    c = Client()
    c.force_login(user)
    return c


def test_pages_render_and_mask_identity(world):
    officer = world.user("oscar")
    person = register_wang(officer, world.regions["A"])
    A.do_record_violation(
        officer,
        person,
        kind="street_occupation",
        severity="grave",
        occurred_on=timezone.localdate() - timedelta(days=1),
    )
    full = client(officer).get(f"/credit/subjects/{person.pk}/").content.decode()
    assert IDN in full and "13812345678" in full
    masked = client(world.user("stella")).get(f"/credit/subjects/{person.pk}/").content.decode()
    assert IDN not in masked and "110***********002X" in masked and "138****5678" in masked
    assert client(world.user("steve")).get(f"/credit/subjects/{person.pk}/").status_code == 404
    for url in ["/credit/", "/credit/lists/?kind=dishonest", "/credit/rules/", "/credit/subjects/new/"]:
        assert client(officer).get(url).status_code == 200, url
    # The public page needs no sign-in and shows only the surname.
    public = Client().get("/credit/public/").content.decode()
    assert "王**" in public and "王小明" not in public and IDN not in public
    api = Client().get("/api/v1/credit/public/dishonest").json()
    assert api["results"][0]["name"] == "王**"


def test_subject_form_shows_validation_messages_and_writes_nothing(world):
    c = client(world.user("oscar"))
    r = c.post(
        "/credit/subjects/new/", {"kind": "business", "name": "坏码公司", "uscc": "91350100M000100Y44"}
    )
    assert r.status_code == 200 and "GB 32100" in r.content.decode()
    assert not Subject.objects.filter(name="坏码公司").exists()
    r = c.post(
        "/credit/subjects/new/", {"kind": "business", "name": "好码公司", "uscc": "91350100M000100Y43"}
    )
    assert r.status_code == 302 and Subject.objects.filter(name="好码公司").exists()


def test_api_flow_and_flags(world):
    c = client(world.user("oscar"))
    r = c.post(
        "/api/v1/credit/subjects",
        {
            "kind": "business",
            "name": "API商户",
            "uscc": "91110000600037341L",
            "region": world.regions["A"].code,
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    sid = r.json()["id"]
    case = world.case()
    r = c.post(
        f"/api/v1/credit/subjects/{sid}/violations",
        {"kind": "street_occupation", "severity": "serious", "case": case.number},
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["score"] == "88.00"
    vid = r.json()["id"]
    r = c.post(
        f"/api/v1/credit/violations/{vid}/penalties",
        {"kind": "fine", "decision_number": "API-1"},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["field"] == "amount"
    r = c.post(
        f"/api/v1/credit/violations/{vid}/penalties",
        {"kind": "fine", "decision_number": "API-1", "amount": "200"},
        content_type="application/json",
    )
    assert r.status_code == 201
    second = world.case()
    from urbangrid.credit.models import Subject as S

    A.do_name_subject_on_case(world.user("oscar"), second, S.objects.get(pk=sid))
    flags = c.get(f"/api/v1/credit/cases/{second.number}/flags").json()["subjects"]
    assert flags[0]["repeat_offender"] and flags[0]["earlier_violations"] == 1
    assert client(world.user("steve")).get(f"/api/v1/credit/subjects/{sid}").status_code == 404
    assert (
        client(world.user("gavin"))
        .post(
            "/api/v1/credit/subjects",
            {"kind": "business", "name": "x", "uscc": "91350100M000100Y43"},
            content_type="application/json",
        )
        .status_code
        == 403
    )


def test_subject_lists_show_identity_numbers_masked_even_to_roles_that_may_see_them(world):
    """Lists are for finding a subject: the full ID number only on the subject's own page."""
    officer = world.user("oscar")
    register_wang(officer, world.regions["A"])
    c = client(officer)
    page = c.get("/credit/?q=王小明").content.decode()
    assert "王小明" in page and IDN not in page and "110***********002X" in page
    rows = c.get("/api/v1/credit/subjects?q=王小明").json()["results"]
    assert [r["identity"] for r in rows] == ["110***********002X"]
    assert rows[0]["phone"] == "138****5678"
