"""Personal data on the public side: every public text field is masked, and following a case
needs its number and a second factor (the link, or the last four digits of the phone)."""

from __future__ import annotations

from datetime import UTC, datetime
from unittest import mock

import pytest

from urbangrid.portal.tests.test_portal import PHONE, form, verified_ticket

pytestmark = pytest.mark.django_db
SECRETS = ["13987654321", "11010519491231002X", "li.si@example.org"]
MID_HOUR = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)
ADDRESS = "东门，联系13987654321，身份证11010519491231002X，li.si@example.org"


def _reported(city, client, **over):
    from urbangrid.cases.models import Case

    r = client.post("/public/", form(city, **over))
    assert r.status_code == 302, r.content.decode()[:500]
    return Case.objects.get(public_token=r["Location"].rstrip("/").split("/")[-1])


def test_an_address_is_masked_wherever_it_is_published(city, client):
    case = _reported(city, client, phone=PHONE, phone_ticket=verified_ticket(client), address=ADDRESS)
    assert case.address == ADDRESS  # stored as given, for the staff
    pages = {
        f"/public/c/{case.public_token}/": "东门",
        f"/public/follow/?number={case.number}&phone4={PHONE[-4:]}": "东门",
        f"/open311/v2/requests/{case.number}.json": "东门",
        "/open311/v2/requests.json": "东门",
        "/open311/v2/requests.xml": "东门",
    }
    for url, shown in pages.items():
        r = client.get(url)
        text = r.content.decode()
        assert r.status_code == 200 and shown in text, url
        for secret in SECRETS:
            assert secret not in text, (url, secret)


def test_following_by_number_needs_the_last_four_phone_digits(city, client):
    case = _reported(city, client, phone=PHONE, phone_ticket=verified_ticket(client))
    anonymous = _reported(city, client, request_id="form-anon", lon=city.points[2][0], lat=city.points[2][1])
    refused = [
        f"?number={case.number}",
        f"?number={case.number}&phone4=0000",
        f"?number={case.number}&phone4={PHONE[-5:]}",
        f"?number=20990101999999&phone4={PHONE[-4:]}",
        f"?number={anonymous.number}&phone4={PHONE[-4:]}",
    ]
    answers = set()
    for query in refused:
        r = client.get("/public/follow/" + query)
        assert r.status_code == 404 and case.description not in r.content.decode(), query
        answers.add(r.content.decode().split('id="follow-error">')[1].split("<")[0])
    assert len(answers) == 1  # a wrong number and wrong digits look alike: nothing to enumerate
    r = client.get(f"/public/follow/?number={case.number}&phone4={PHONE[-4:]}")
    assert r.status_code == 200 and case.description in r.content.decode()
    assert client.get(f"/public/c/{anonymous.public_token}/").status_code == 200


def test_guessing_the_digits_of_one_number_is_cut_short(city, client):
    case = _reported(city, client, phone=PHONE, phone_ticket=verified_ticket(client))
    # A clock in the middle of the limit's hour: no window boundary between the tries.
    with mock.patch("urbangrid.portal.ratelimit.timezone.now", return_value=MID_HOUR):
        codes = [
            client.get(f"/public/follow/?number={case.number}&phone4={i:04d}").status_code for i in range(11)
        ]
        assert codes[:10] == [404] * 10 and codes[10] == 429
        # Even the right digits wait for the window to pass once a number is being guessed.
        assert client.get(f"/public/follow/?number={case.number}&phone4={PHONE[-4:]}").status_code == 429
