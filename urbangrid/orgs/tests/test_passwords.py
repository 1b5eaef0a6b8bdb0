"""Passwords: Django's validators (similarity, length, common, numeric) wherever a person sets
one, a change-password page for everyone, and an administrator's reset outside /admin/."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from urbangrid.lib.errors import InvalidInput, PermissionDenied
from urbangrid.lib.models import AuditEvent
from urbangrid.orgs import actions

OLD = "Old-pass-2024!"


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(username="zhangwei", first_name="张伟", password=OLD)


@pytest.fixture
def client_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "weak,says",
    [
        ("1234567890", "只包含数字"),  # numeric
        ("password1", "太常见"),  # common
        ("zhangwei88", "相似"),  # like the user name
        ("Ab3$x", "太短"),  # too short
    ],
)
def test_weak_passwords_are_refused_in_chinese(user, weak, says):
    with pytest.raises(InvalidInput) as exc:
        actions.do_change_password(user, old_password=OLD, new_password=weak)
    assert says in exc.value.message
    user.refresh_from_db()
    assert user.check_password(OLD)
    assert not AuditEvent.objects.filter(action="orgs.change_password").exists()


def test_header_links_to_the_change_password_page(client_in):
    page = client_in.get("/account/password/")
    assert page.status_code == 200
    assert 'href="/account/password/"' in page.content.decode()  # the header menu, on every page
    assert "密码" in page.content.decode()


def test_change_password_page(client_in, user):
    url = "/account/password/"
    wrong_old = client_in.post(
        url, {"old_password": "nope", "new_password1": "Blue-river-77", "new_password2": "Blue-river-77"}
    )
    assert wrong_old.status_code == 200
    assert "当前密码不正确" in wrong_old.content.decode()
    weak = client_in.post(
        url, {"old_password": OLD, "new_password1": "12345678", "new_password2": "12345678"}
    )
    assert "这个密码" in weak.content.decode()
    differ = client_in.post(
        url, {"old_password": OLD, "new_password1": "Blue-river-77", "new_password2": "Blue-river-78"}
    )
    assert "两次输入的密码不一致" in differ.content.decode()
    user.refresh_from_db()
    assert user.check_password(OLD)

    ok = client_in.post(
        url, {"old_password": OLD, "new_password1": "Blue-river-77", "new_password2": "Blue-river-77"}
    )
    assert ok.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Blue-river-77")
    assert client_in.get("/account/password/").status_code == 200  # still signed in here
    event = AuditEvent.objects.get(action="orgs.change_password")
    assert event.actor_id == user.pk
    assert "Blue-river-77" not in str(event.payload) + event.summary


def test_admin_resets_a_password_in_the_console(demo):
    admin = demo.client_for("admin")
    worker = demo.person("grid_worker", street=1)
    page = admin.get(f"/orgs/people/{worker.pk}/")
    assert f'href="/orgs/people/{worker.pk}/password/"' in page.content.decode()
    url = f"/orgs/people/{worker.pk}/password/"
    weak = admin.post(url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 200
    assert "密码只包含数字" in weak.content.decode()
    ok = admin.post(url, {"new_password1": "Fresh-start-31", "new_password2": "Fresh-start-31"})
    assert ok.status_code == 302
    worker.user.refresh_from_db()
    assert worker.user.check_password("Fresh-start-31")
    event = AuditEvent.objects.get(action="orgs.reset_password", object_id=str(worker.pk))
    assert event.actor_id == demo.user("admin").pk


def test_only_an_admin_resets_passwords(demo):
    worker = demo.person("grid_worker", street=1)
    leader = demo.user("district_leader")
    with pytest.raises(PermissionDenied):
        actions.do_reset_password(leader, worker, "Fresh-start-31")
    resp = demo.client_for("district_leader").post(
        f"/orgs/people/{worker.pk}/password/",
        {"new_password1": "Fresh-start-31", "new_password2": "Fresh-start-31"},
    )
    assert resp.status_code == 404
    page = demo.client_for("district_leader").get(f"/orgs/people/{worker.pk}/")
    assert f"/orgs/people/{worker.pk}/password/" not in page.content.decode()
    worker.user.refresh_from_db()
    assert not worker.user.check_password("Fresh-start-31")
    assert not AuditEvent.objects.filter(action="orgs.reset_password").exists()


def test_creating_a_person_with_a_weak_password_is_refused(demo):
    admin = demo.user("admin")
    with pytest.raises(InvalidInput):
        actions.do_create_person(
            admin, username="weak1", name="弱密码", unit=demo.street_unit(1), roles=[], password="11111111"
        )
    assert not get_user_model().objects.filter(username="weak1").exists()
