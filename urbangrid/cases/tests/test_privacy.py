"""An anonymous reporter's name and phone: hidden on every channel but to the roles that call
reporters back, whose every read is audited."""

from __future__ import annotations

import pytest

from urbangrid.catalog.models import ProblemClass
from urbangrid.lib.models import AuditEvent

pytestmark = pytest.mark.django_db
NAME, PHONE = "钱七", "13700001111"


def _hotline_case(demo, *, anonymous: bool) -> str:
    point = demo.grids_of(demo.streets[0])[0].geometry.representative_point()
    pc = ProblemClass.objects.filter(code_set__is_default=True, kind="event").order_by("code").first()
    r = demo.client_for("intake_operator").post(
        "/api/v1/cases/intake",
        {
            "channel": "hotline",
            "description": "楼下有人占道经营",
            "lon": point.x,
            "lat": point.y,
            "crs": "cgcs2000",
            "class_code": pc.code,
            "class_kind": pc.kind,
            "reporter_name": NAME,
            "reporter_phone": PHONE,
            "anonymous": anonymous,
        },
        "application/json",
    )
    assert r.status_code == 201, r.content
    return r.json()["number"]


def _contact_reads(number):
    from urbangrid.cases.models import Case

    case = Case.objects.get(number=number)
    return AuditEvent.objects.filter(
        action="read_anonymous_contact", object_type="cases.case", object_id=str(case.pk)
    )


def test_anonymous_reporter_is_hidden_but_from_those_who_call_back(demo):
    number = _hotline_case(demo, anonymous=True)
    for role in ("shift_leader", "dispatcher"):
        client = demo.client_for(role)
        body = client.get(f"/api/v1/cases/{number}").json()
        assert body["anonymous"] and body["reporter_name"] is None and body["reporter_phone"] is None, role
        page = client.get(f"/case/{number}/").content.decode()
        assert NAME not in page and PHONE not in page, role
    assert not _contact_reads(number).exists()

    operator = demo.client_for("intake_operator")
    body = operator.get(f"/api/v1/cases/{number}").json()
    assert (body["reporter_name"], body["reporter_phone"]) == (NAME, PHONE)
    page = operator.get(f"/case/{number}/").content.decode()
    assert PHONE in page and 'id="anonymous-contact"' in page
    reads = _contact_reads(number)
    assert sorted(reads.values_list("payload__via", flat=True)) == ["api", "console"]
    assert {e.actor_id for e in reads} == {demo.user("intake_operator").pk}


def test_a_named_reporter_is_shown_to_the_contact_roles_without_audit(demo):
    number = _hotline_case(demo, anonymous=False)
    for role in ("shift_leader", "dispatcher", "intake_operator"):
        body = demo.client_for(role).get(f"/api/v1/cases/{number}").json()
        assert (body["reporter_name"], body["reporter_phone"]) == (NAME, PHONE), role
    body = demo.client_for("grid_worker", street=1).get(f"/api/v1/cases/{number}").json()
    assert body["reporter_phone"] is None
    assert not _contact_reads(number).exists()
