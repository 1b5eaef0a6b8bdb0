"""Point -> (grid, community, street, district) locator (定位).

An in-memory shapely STRtree over the CURRENT unit grids, with numpy arrays of their ids, codes and
region ids, built lazily once per process and rebuilt when ``GeoRevision.current()`` changes.
Single calls look at the revision at most once a second; a batch call looks once. Actions of this
app also drop the local index at once (``invalidate()``), so the process that changed grids never
answers from a stale index.

Shared-edge rule: a point on the common edge or vertex of several grids (GEOS ``intersects``
is true for each of them) belongs to the grid with the LOWEST grid code among them. The tree is
built over the grids sorted by code, so that is the lowest tree index, both for single and for
batch calls.

Outside every current grid, ``locate`` answers None and ``locate_many`` answers -1.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import shapely

from .crs import to_canonical, to_canonical_many

CHECK_INTERVAL_S = 1.0


@dataclass(frozen=True)
class Location:
    """Where a point lies: the current grid and its community, street/town and district."""

    grid_id: int
    grid_code: str
    community_id: int
    street_id: int
    district_id: int
    lon: float
    lat: float


class GridIndex:
    """The STRtree plus parallel numpy arrays (tree index i <-> grid i, sorted by code)."""

    def __init__(self, ids, codes, community_ids, street_ids, district_ids, geoms, revision: int) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        self.codes = np.asarray(codes, dtype=object)
        self.community_ids = np.asarray(community_ids, dtype=np.int64)
        self.street_ids = np.asarray(street_ids, dtype=np.int64)
        self.district_ids = np.asarray(district_ids, dtype=np.int64)
        self.geoms = np.asarray(geoms, dtype=object)
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms)
        self.revision = revision

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_db(cls) -> GridIndex:
        from .models import GeoRevision, UnitGrid

        revision = GeoRevision.current()
        rows = list(
            UnitGrid.objects.current()
            .order_by("code")
            .values_list("id", "code", "community_id", "street_id", "district_id", "geometry_wkb")
        )
        rows = [r for r in rows if r[5]]
        geoms = shapely.from_wkb([bytes(r[5]) for r in rows]) if rows else np.array([], dtype=object)
        cols = list(zip(*rows, strict=True)) if rows else [[], [], [], [], [], []]
        return cls(cols[0], cols[1], cols[2], cols[3], cols[4], geoms, revision)

    def lookup_one(self, lon: float, lat: float) -> int:
        """Tree index of the grid containing the canonical point, or -1 (shared edge: lowest code)."""
        if len(self.ids) == 0:
            return -1
        candidates = self.tree.query(shapely.Point(lon, lat))
        if len(candidates) == 0:
            return -1
        candidates.sort()
        for i in candidates:
            if shapely.intersects_xy(self.geoms[i], lon, lat):
                return int(i)
        return -1

    def lookup_many(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Vectorised: tree index per canonical point, -1 outside (shared edge: lowest code)."""
        n = len(lons)
        out = np.full(n, -1, dtype=np.int64)
        if n == 0 or len(self.ids) == 0:
            return out
        points = shapely.points(lons, lats)
        inp, tree_idx = self.tree.query(points, predicate="intersects")
        if len(inp) == 0:
            return out
        # Resolve points with several matches (shared edges/vertices) to the lowest tree index.
        order = np.lexsort((tree_idx, inp))
        inp, tree_idx = inp[order], tree_idx[order]
        first = np.empty(len(inp), dtype=bool)
        first[0] = True
        np.not_equal(inp[1:], inp[:-1], out=first[1:])
        out[inp[first]] = tree_idx[first]
        return out

    def location(self, i: int, lon: float, lat: float) -> Location:
        return Location(
            grid_id=int(self.ids[i]),
            grid_code=str(self.codes[i]),
            community_id=int(self.community_ids[i]),
            street_id=int(self.street_ids[i]),
            district_id=int(self.district_ids[i]),
            lon=lon,
            lat=lat,
        )


_lock = threading.Lock()
_state: dict = {"index": None, "checked": 0.0}


def invalidate() -> None:
    """Drop this process's index; the next call rebuilds it from the database."""
    with _lock:
        _state["index"] = None
        _state["checked"] = 0.0


def get_index(*, force_check: bool = False) -> GridIndex:
    """The current index, rebuilt if the geometry revision moved (checked at most once a second)."""
    from .models import GeoRevision

    index: GridIndex | None = _state["index"]
    now = time.monotonic()
    if index is not None and not force_check and now - _state["checked"] < CHECK_INTERVAL_S:
        return index
    revision = GeoRevision.current()
    if index is not None and index.revision == revision:
        _state["checked"] = now
        return index
    with _lock:
        index = _state["index"]
        if index is None or index.revision != revision:
            index = GridIndex.from_db()
            _state["index"] = index
        _state["checked"] = time.monotonic()
    return index


def locate(lon: float, lat: float, crs: str = "wgs84", **crs_kwargs) -> Location | None:
    """Locate one point given in ``crs``; None when it lies outside every current grid."""
    c_lon, c_lat = to_canonical(lon, lat, crs, **crs_kwargs)
    index = get_index()
    i = index.lookup_one(c_lon, c_lat)
    return None if i < 0 else index.location(i, c_lon, c_lat)


def locate_many_indices(lons, lats, crs: str = "wgs84", **crs_kwargs) -> tuple[GridIndex, np.ndarray]:
    """Batch: the index used and the tree index per point (-1 outside); one revision check."""
    c_lon, c_lat = to_canonical_many(lons, lats, crs, **crs_kwargs)
    index = get_index(force_check=True)
    return index, index.lookup_many(c_lon, c_lat)


def locate_many(lons, lats, crs: str = "wgs84", **crs_kwargs) -> np.ndarray:
    """Batch: grid id per point as an int64 array, -1 outside."""
    index, idx = locate_many_indices(lons, lats, crs, **crs_kwargs)
    out = np.full(len(idx), -1, dtype=np.int64)
    inside = idx >= 0
    out[inside] = index.ids[idx[inside]]
    return out
