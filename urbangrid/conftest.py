"""Domain test fixtures shared by every app: the test world with its named cast
(urbangrid/testing/world.py), built per test, and the small demo city, built ONCE per test
session.

``world`` (enables DB access) builds the test world inside the test's transaction: two streets,
units at every tier, one named person per role (``world.user("grace")``, the grid worker of
street A; the cast is listed in ``CAST``). ``tx_world`` commits it for real, for tests with
threads, several connections or a live server.

The demo city
-------------

- ``django_db_setup`` (session) is extended: after pytest-django has created the test database
  it builds the small demo city into it (``build_demo_city --seed 7 --scale small
  --history-days 0``): geography and unit grids, the catalogue and calendar, units, people with
  every role, grid assignments, secondments and responsibility rules. It is committed data, so
  every test sees it; ordinary ``django_db`` tests roll their own changes back.
- Under pytest-xdist every worker has its own test database and builds its own copy.
- Transactional tests (``transaction=True``, ``live_server``) truncate all tables when they
  end; a teardown hook rebuilds the city right after such a test (a few seconds), so the
  next test finds it again.
- Passwords use a fast hasher in tests; every demo account's password is ``demo12345``.

``demo`` (function scope, enables DB access) returns a ``DemoCity``:

- ``demo.district``, ``demo.streets`` (level 3, by code), ``demo.communities`` (level 4),
  ``demo.regions(kind)`` (e.g. "street", "town", "village"), ``demo.grids`` (current UnitGrids),
  ``demo.street(i)`` (1-based, the order of the ``street<i>_*`` accounts);
- ``demo.unit(code)`` (e.g. "bureau", "center", "dept_market", "brigade", "st_<region code>"),
  ``demo.units`` (dict code → Unit), ``demo.street_unit(street)``;
- ``demo.user(role, street=None)``: the first persona holding ``role`` (Role value, e.g.
  "dispatcher", "grid_worker", "unit_handler"), inside ``street`` (a Region or 1-based index) when
  given — e.g. ``demo.user("grid_worker", street=2)``; ``demo.user_named("s1_worker1")``;
  ``demo.person(...)`` the same returning the Person;
- ``demo.client_for(role, street=None)`` / ``demo.client_named(username)``: a logged-in
  django.test.Client.

Example::

    def test_dispatcher_sees_queue(demo):
        client = demo.client_for("dispatcher")
        assert client.get("/api/v1/orgs/me").json()["roles"] == ["dispatcher"]
"""

from __future__ import annotations

import pytest

DEMO_SEED = 7


def pytest_configure(config):
    from django.conf import settings

    # Hashing is deliberately slow; tests log in with force_login or the one demo password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _city_present() -> bool:
    from urbangrid.orgs.models import Unit

    return Unit.objects.filter(code="bureau").exists()


def build_test_city() -> None:
    """Build the small demo city into the current (test) database."""
    from django.core.management import call_command

    call_command(
        "build_demo_city",
        seed=DEMO_SEED,
        scale="small",
        history_days=0,
        quiet_accounts=True,
        stdout=_Null(),
    )


class _Null:
    def write(self, *a, **k):
        return 0

    def flush(self):
        return None


def _is_transactional(item) -> bool:
    names = getattr(item, "fixturenames", ())
    if "transactional_db" in names or "live_server" in names:
        return True
    marker = item.get_closest_marker("django_db")
    return bool(marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))


def pytest_collection_modifyitems(items):
    # pytest-django creates the test databases only for what the collected items declare with a
    # django_db mark; a run selecting only tests that use `demo` would otherwise touch the real one.
    for item in items:
        if "demo" in getattr(item, "fixturenames", ()) and item.get_closest_marker("django_db") is None:
            item.add_marker(pytest.mark.django_db(transaction="live_server" in item.fixturenames))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    # Runs after every fixture teardown, i.e. after pytest-django flushed the tables.
    if nextitem is None or not _is_transactional(item):
        return
    from pytest_django.plugin import blocking_manager_key

    blocker = item.config.stash[blocking_manager_key]
    with blocker.unblock():
        if not _city_present():
            build_test_city()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        if not _city_present():
            build_test_city()


class DemoCity:
    """Access to the demo city's regions, units and persona users (see the module docstring)."""

    def __init__(self) -> None:
        from urbangrid.geo.models import Region, UnitGrid
        from urbangrid.orgs.models import Unit

        self.district = Region.objects.filter(level=2).order_by("code").first()
        self.streets = list(Region.objects.filter(level=3).order_by("code"))
        self.communities = list(Region.objects.filter(level=4).order_by("code"))
        self.grids = list(UnitGrid.objects.current().order_by("code"))
        self.units = {u.code: u for u in Unit.objects.all()}

    # -- regions and units
    def regions(self, kind: str):
        from urbangrid.geo.models import Region

        return list(Region.objects.filter(kind=kind).order_by("code"))

    def street(self, index_or_region):
        if hasattr(index_or_region, "pk"):
            return index_or_region
        return self.streets[int(index_or_region) - 1]

    def unit(self, code: str):
        return self.units[code]

    def street_unit(self, street):
        street = self.street(street)
        return next(
            u
            for u in self.units.values()
            if u.region_id == street.pk and u.kind in ("street_office", "town_gov")
        )

    def grids_of(self, region) -> list:
        return [g for g in self.grids if region.pk in (g.community_id, g.street_id, g.district_id)]

    # -- personas
    def person(self, role: str, street=None):
        from django.db.models import Q

        from urbangrid.orgs.models import Person, RoleAssignment

        ras = RoleAssignment.objects.filter(role=role, person__is_active=True)
        if street is not None:
            s = self.street(street)
            ras = ras.filter(Q(region=s) | Q(region__parent=s) | Q(person__unit__region=s))
        ras = list(
            ras.select_related("region", "person__unit", "person__user").order_by("person__user__username")[
                :500
            ]
        )
        if street is not None:
            # Prefer a role over the street itself, then the street's own unit, then a community.
            ras.sort(key=lambda r: (r.region_id != s.pk, r.person.unit.region_id != s.pk))
        ra = ras[0] if ras else None
        if ra is None:
            raise LookupError(f"no demo persona with role {role!r}" + (f" in {street}" if street else ""))
        return Person.objects.select_related("user", "unit").get(pk=ra.person_id)

    def user(self, role: str, street=None):
        """A fresh User object (its jurisdiction scope is computed anew)."""
        return self.person(role, street).user

    def user_named(self, username: str):
        from django.contrib.auth import get_user_model

        return get_user_model().objects.get(username=username)

    def client_for(self, role: str, street=None):
        return self._client(self.user(role, street))

    def client_named(self, username: str):
        return self._client(self.user_named(username))

    @staticmethod
    def _client(user):
        from django.test import Client

        client = Client()
        client.force_login(user)
        return client


@pytest.fixture
def demo(request, django_db_blocker):
    """The small demo city (see the module docstring). Enables database access."""
    request.getfixturevalue("transactional_db" if _is_transactional(request.node) else "db")
    if not _city_present():
        build_test_city()
    return DemoCity()


@pytest.fixture
def world(db, settings, tmp_path):
    """The test world (urbangrid/testing/world.py), with media under the test's own directory and
    tasks run as they are enqueued."""
    from urbangrid.testing.world import build_world

    settings.MEDIA_ROOT = str(tmp_path / "media")
    # The same queues as the product's (a task module first imported under this backend must find its queue).
    settings.TASKS = {
        "default": {
            **settings.TASKS["default"],
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        }
    }
    settings.URBANGRID = {**settings.URBANGRID, "NOTIFY_IMMEDIATE": False}
    return build_world()


@pytest.fixture
def tx_world(transactional_db, settings, tmp_path):
    """The test world committed for real (for tests with threads, several connections or a live
    server)."""
    from urbangrid.testing.world import build_world

    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.URBANGRID = {**settings.URBANGRID, "NOTIFY_IMMEDIATE": False}
    return build_world()


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Per-process caches (active classes, classifier) may hold rows a previous test created and
    rolled back; each test starts without them."""
    from urbangrid.catalog.cache import invalidate_classes
    from urbangrid.catalog.classify import invalidate_classifier

    invalidate_classes()
    invalidate_classifier()
    yield


def history_end():
    """16:00 local today, or yesterday before then: the end of a demo history that does not
    depend on when the tests run (and gives "today" some activity)."""
    from datetime import datetime, time, timedelta

    from django.utils import timezone

    now = timezone.localtime()
    day = now.date() if now.time() >= time(16) else now.date() - timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time(16)))


@pytest.fixture
def case_history(demo):
    """Five days of the demo case history (demo/cases.py, seed 3) up to ``history_end()``, for
    the module demos built on it; returns that end."""
    from urbangrid.demo.cases import build_history

    end = history_end()
    build_history(days=5, seed=3, end=end)
    return end
