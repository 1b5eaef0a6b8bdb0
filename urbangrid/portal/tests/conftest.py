"""The portal's test setting on top of the shared demo city (urbangrid/conftest.py ``demo``):
points inside grids of the first and second street, and Open311/webhook API clients."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest


@dataclass
class City:
    demo: object
    streets: list
    units: dict = field(default_factory=dict)
    grids: dict = field(default_factory=dict)
    points: list = field(default_factory=list)  # one point per grid of street 1, ≥ 50 m apart
    clients: dict = field(default_factory=dict)
    keys: dict = field(default_factory=dict)
    admin: object = None
    A: tuple = ()
    B: tuple = ()
    OUTSIDE = (10.0, 10.0)


def _point(grid) -> tuple[float, float]:
    p = grid.geometry.representative_point()
    return (round(p.x, 7), round(p.y, 7))


def build_city(demo) -> City:
    from django.contrib.auth import get_user_model

    from urbangrid.portal.actions import do_create_client

    s1, s2 = demo.streets[0], demo.streets[1]
    c = City(demo=demo, streets=[s1, s2])
    g1 = demo.grids_of(s1)
    g2 = demo.grids_of(s2)
    c.grids = {"A1": g1[0], "A2": g1[-1], "B1": g2[0]}
    c.A, c.B = _point(g1[0]), _point(g2[0])
    # Every other grid keeps neighbouring points well apart (duplicate detection is by distance).
    c.points = [_point(g) for g in g1[::2]][:8]
    c.units = {"A": demo.street_unit(s1), "B": demo.street_unit(s2)}
    c.admin = get_user_model().objects.create_superuser("portal-admin", "a@example.org", "pw-portal-12345")
    for name, channel, scopes in [
        ("app", "open311", ["open311:post", "open311:read"]),
        ("readonly", "open311", ["open311:read"]),
        ("camera", "machine", ["webhook"]),
    ]:
        client, key = do_create_client(c.admin, name=f"{name} client", channel=channel, scopes=scopes)
        c.clients[name] = client
        c.keys[name] = key
    return c


@pytest.fixture
def city(demo, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.URBANGRID = {**settings.URBANGRID, "NOTIFY_IMMEDIATE": False}
    return build_city(demo)


def service_code(name: str) -> str:
    """The service code (class key) of the default code set's event class called ``name``."""
    from urbangrid.catalog.models import ProblemClass

    return ProblemClass.objects.get(code_set__is_default=True, kind="event", name=name).key
