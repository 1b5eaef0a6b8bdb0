"""Login with lockout: 5 failures in 15 minutes for one user name and IP lock it for 15 minutes."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from urbangrid.console import lockout
from urbangrid.console.models import LoginAttempt


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(username="op1", password="right-password-1")


def login(client, password, username="op1"):
    return client.post("/login/", {"username": username, "password": password})


def test_login_success_redirects(client, user):
    resp = login(client, "right-password-1")
    assert resp.status_code == 302


def test_lockout_after_five_failures(client, user):
    for _i in range(5):
        resp = login(client, "wrong")
        assert resp.status_code == 200
    assert lockout.locked_until("op1", "127.0.0.1") is not None
    # Even the right password is refused while locked, with a Chinese message.
    resp = login(client, "right-password-1")
    assert resp.status_code == 200
    assert "锁定" in resp.content.decode()
    assert "_auth_user_id" not in client.session
    # Another IP is not locked.
    assert lockout.locked_until("op1", "10.0.0.9") is None


def test_lock_expires(client, user):
    past = timezone.now() - timedelta(minutes=31)
    for i in range(5):
        LoginAttempt.objects.create(
            username="op1", ip="127.0.0.1", at=past + timedelta(seconds=i), success=False
        )
    assert lockout.locked_until("op1", "127.0.0.1") is None
    assert login(client, "right-password-1").status_code == 302


def test_failures_spread_out_do_not_lock(user):
    now = timezone.now()
    for i in range(5):
        LoginAttempt.objects.create(
            username="op1", ip="1.1.1.1", at=now - timedelta(minutes=4 * i), success=False
        )
    # The five failures span 16 minutes: no 5 inside one 15-minute window.
    assert lockout.locked_until("op1", "1.1.1.1") is None


def test_success_resets_count(client, user):
    for _i in range(4):
        login(client, "wrong")
    assert login(client, "right-password-1").status_code == 302
    client.logout()
    for _i in range(4):
        login(client, "wrong")
    assert lockout.locked_until("op1", "127.0.0.1") is None


def test_username_case_insensitive_for_lockout(client, user):
    for i in range(5):
        login(client, "wrong", username="OP1" if i % 2 else "op1")
    assert lockout.locked_until("op1", "127.0.0.1") is not None
