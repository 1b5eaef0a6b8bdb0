"""A small city for the portal's tests: one district with two streets (each one community of two
unit grids), the real seeded catalogue, and Open311/webhook clients. Built per test."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import shapely
from PIL import Image


def jpeg(color=(200, 30, 30), size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


@dataclass
class City:
    regions: dict = field(default_factory=dict)
    grids: dict = field(default_factory=dict)
    units: dict = field(default_factory=dict)
    clients: dict = field(default_factory=dict)
    keys: dict = field(default_factory=dict)
    admin: object = None

    # A point inside street A's first grid and one inside street B (WGS-84 == canonical here).
    A = (120.0025, 30.0025)
    B = (120.0125, 30.0075)
    OUTSIDE = (121.5, 31.5)


def _geom(obj, geom):
    obj.set_geometry(geom)


def build_city() -> City:
    from django.contrib.auth import get_user_model

    from urbangrid.catalog.seed import load_catalog
    from urbangrid.geo.models import GeoRevision, Region, UnitGrid
    from urbangrid.orgs.models import Unit
    from urbangrid.portal.actions import do_create_client

    c = City()
    city = Region.objects.create(code="6199", name="示范市", kind="city")
    dist = Region.objects.create(code="619901", name="中心区", kind="district", parent=city)
    _geom(dist, shapely.box(120.0, 30.0, 120.02, 30.01))
    dist.save()
    c.regions.update(city=city, district=dist)
    for i, key in enumerate(["A", "B"]):
        x0 = 120.0 + i * 0.01
        st = Region.objects.create(code=f"619901{i + 1:03d}", name=f"{key}街道", kind="street", parent=dist)
        cm = Region.objects.create(code=f"{st.code}001", name=f"{key}花园社区", kind="community", parent=st)
        for r in (st, cm):
            _geom(r, shapely.box(x0, 30.0, x0 + 0.01, 30.01))
            r.save()
        c.regions[key] = st
        c.regions[f"{key}c"] = cm
        for j in range(2):
            g = UnitGrid(
                code=f"{cm.code}{j + 1:03d}",
                community=cm,
                street=st,
                district=dist,
                valid_from=datetime(2020, 1, 1, tzinfo=UTC),
            )
            _geom(g, shapely.box(x0 + j * 0.005, 30.0, x0 + (j + 1) * 0.005, 30.01))
            g.save()
            c.grids[f"{key}{j + 1}"] = g
        c.units[key] = Unit.objects.create(
            code=f"SO-{key}", name=f"{key}街道办事处", kind="street_office", level="street", region=st
        )
    GeoRevision.bump()
    try:
        from urbangrid.geo import locator

        locator.invalidate()
    except (ImportError, AttributeError):
        pass
    load_catalog()
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
def city(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.URBANGRID = {**settings.URBANGRID, "NOTIFY_IMMEDIATE": False}
    return build_city()


def service_code(name: str) -> str:
    """The default code set's code of the event class called ``name``."""
    from urbangrid.catalog.models import ProblemClass

    return ProblemClass.objects.get(code_set__is_default=True, kind="event", name=name).code
