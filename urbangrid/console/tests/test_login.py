"""Login with lockout: 5 failures in 15 minutes for one user name and IP lock it for 15 minutes;
10 failures on one account from any IP start a growing delay; /login/ and /admin/login/ share both."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from urbangrid.console import lockout
from urbangrid.console.models import LoginAttempt


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(username="op1", password="right-password-1")


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        username="root1", password="right-password-1", is_staff=True, is_superuser=True
    )


def login(client, password, username="op1", ip="127.0.0.1", url="/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


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


def test_admin_login_is_locked_too(client, staff):
    for _i in range(8):
        assert login(client, "wrong", "root1", url="/admin/login/").status_code == 200
    resp = login(client, "right-password-1", "root1", url="/admin/login/")
    assert resp.status_code == 200
    assert "锁定" in resp.content.decode()
    assert not signed_in(client)


def test_failures_count_across_both_login_forms(client, staff):
    for _i in range(3):
        login(client, "wrong", "root1", url="/admin/login/")
    for _i in range(2):
        login(client, "wrong", "root1")
    resp = login(client, "right-password-1", "root1")
    assert "锁定" in resp.content.decode()
    assert not signed_in(client)
    # And the other way round: the console's failures lock the admin's form.
    resp = login(client, "right-password-1", "root1", url="/admin/login/")
    assert "锁定" in resp.content.decode()
    assert not signed_in(client)


def test_right_password_of_non_staff_on_admin_is_not_a_failure(client, user):
    for _i in range(6):
        login(client, "right-password-1", url="/admin/login/")
    assert LoginAttempt.objects.filter(success=False).count() == 0
    assert login(client, "right-password-1").status_code == 302


def test_account_locks_across_many_ips(client, user):
    # 20 failures over 5 source IPs: no (user, IP) pair reaches 5, the account does.
    for i in range(20):
        login(client, "wrong", ip=f"10.0.0.{i % 5 + 1}")
    resp = login(client, "right-password-1", ip="10.9.9.9")
    assert resp.status_code == 200
    assert "锁定" in resp.content.decode()
    assert not signed_in(client)
    assert all(lockout.pair_locked_until("op1", f"10.0.0.{k}") is None for k in range(1, 6))
    assert lockout.account_locked_until("op1") is not None


def test_account_delay_grows_then_passes(client, user):
    assert lockout.account_delay(9) == timedelta(0)
    assert lockout.account_delay(10) == timedelta(minutes=1)
    assert lockout.account_delay(11) == timedelta(minutes=2)
    assert lockout.account_delay(13) == timedelta(minutes=8)
    assert lockout.account_delay(40) == timedelta(minutes=60)  # capped: a delay, never for good
    now = timezone.now()
    for i in range(12):  # 12 failures, 12 IPs, the last one 3 minutes ago: 4 minutes to wait
        LoginAttempt.objects.create(
            username="op1", ip=f"10.1.0.{i}", at=now - timedelta(minutes=3, seconds=i), success=False
        )
    until = lockout.account_locked_until("op1", now=now)
    assert until == now - timedelta(minutes=3) + timedelta(minutes=4)
    assert lockout.account_locked_until("op1", now=now + timedelta(minutes=1, seconds=1)) is None
    LoginAttempt.objects.filter(username="op1").update(at=now - timedelta(minutes=5))
    assert login(client, "right-password-1", ip="10.2.0.1").status_code == 302
    # The success resets the account's count.
    assert lockout.attempts_left("op1", "10.3.0.1") == lockout.max_failures()
