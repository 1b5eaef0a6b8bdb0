"""Client keys expire (default lifetime or chosen at issue, printed by portal_client and shown in
the admin); an expired key, and the signing secret issued with it, get 401 with a Chinese message."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from urbangrid.lib.errors import InvalidInput
from urbangrid.portal.actions import do_issue_key
from urbangrid.portal.models import ApiClient
from urbangrid.portal.tests.spec import errors
from urbangrid.portal.tests.test_open311 import case_count, parking, post
from urbangrid.portal.tests.test_webhooks import event, send, source  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def expire(client_row):
    ApiClient.objects.filter(pk=client_row.pk).update(key_expires_at=timezone.now() - timedelta(minutes=1))


def test_keys_get_the_default_lifetime_or_a_chosen_one(city, settings):
    app = city.clients["app"]
    assert abs(app.key_expires_at - app.key_issued_at - timedelta(days=90)) < timedelta(seconds=5)
    do_issue_key(city.admin, app, key_days=10)
    app.refresh_from_db()
    assert abs(app.key_expires_at - app.key_issued_at - timedelta(days=10)) < timedelta(seconds=5)
    with pytest.raises(InvalidInput) as exc:
        do_issue_key(city.admin, app, key_days=0)
    assert "有效期" in str(exc.value)


def test_expired_key_is_refused_on_open311_and_a_new_key_works(city, client):
    before = case_count()
    expire(city.clients["app"])
    r = post(client, "json", parking(city))
    assert r.status_code == 401
    assert "过期" in errors(r, "json")[0]["description"]
    assert case_count() == before
    key = do_issue_key(city.admin, city.clients["app"])
    assert post(client, "json", parking(city, api_key=key)).status_code == 200
    assert case_count() == before + 1


def test_expired_key_ends_its_webhook_signing_secret(city, client, source):  # noqa: F811
    before = case_count()
    expire(city.clients["camera"])
    r = send(client, city, event(city))
    assert r.status_code == 401
    assert r.json()["code"] == "token_expired" and "过期" in r.json()["detail"]
    assert case_count() == before


def test_portal_client_command_sets_and_prints_the_expiry(city):
    out = io.StringIO()
    call_command("portal_client", "--name", "12345 热线", "--expires-days", "30", stdout=out)
    row = ApiClient.objects.get(name="12345 热线")
    assert abs(row.key_expires_at - timezone.now() - timedelta(days=30)) < timedelta(minutes=1)
    assert f"expires:         {timezone.localtime(row.key_expires_at):%Y-%m-%d %H:%M}" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("portal_client", "--name", "永久", "--expires-days", "0", stdout=io.StringIO())
    assert not ApiClient.objects.filter(name="永久").exists()
