"""Point -> (grid, community, street, district) locator (定位).

An in-memory index over the CURRENT unit grids (a shapely STRtree plus a uniform bucket grid,
see GridIndex), with numpy arrays of their ids, codes and region ids, built lazily once per process and rebuilt when ``GeoRevision.current()`` changes.
Single calls look at the revision at most once a second; a batch call looks once. Actions of this
app also drop the local index at once (``invalidate()``), so the process that changed grids never
answers from a stale index.

Shared-edge rule: a point on the common edge or vertex of several grids (GEOS ``intersects``
is true for each of them) belongs to the grid with the LOWEST grid code among them. The index is
built over the grids sorted by code, so that is the lowest index, both for single and for batch
calls (and for the STRtree reference path).

Outside every current grid, ``locate`` answers None and ``locate_many`` answers -1.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np
import shapely

from .crs import to_canonical, to_canonical_many
from .models import GeoRevision, UnitGrid

CHECK_INTERVAL_S = 1.0


@dataclass(slots=True)
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
    """The grids (sorted by code: index i <-> grid i) with two spatial indexes.

    - an STRtree (exposed as ``tree`` for other callers);
    - a uniform bucket grid in lon/lat: buckets whose (slightly enlarged) box lies strictly
      inside exactly one grid answer directly ("pure" buckets); the others keep the sorted list
      of grids that touch them and the point is tested against those (prepared polygons,
      ``intersects_xy``), the first hit being the lowest code. Most points land in pure buckets,
      so a batch costs a few numpy passes, and a single point a bucket lookup.
    """

    # About 6 x 6 buckets per grid, at most ~1 M buckets.
    BUCKETS_PER_GRID_SIDE = 6
    MAX_BUCKETS = 1_000_000
    PAD_DEG = 1e-9

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
        self._build_buckets()

    def __len__(self) -> int:
        return len(self.ids)

    def _build_buckets(self) -> None:
        n = len(self.geoms)
        self.nx = self.ny = 0
        if n == 0:
            return
        minx, miny, maxx, maxy = shapely.total_bounds(self.geoms)
        w, h = max(maxx - minx, 1e-9), max(maxy - miny, 1e-9)
        typical = float(np.median(np.sqrt(shapely.area(self.geoms)))) or min(w, h)
        size = typical / self.BUCKETS_PER_GRID_SIDE
        size = max(size, np.sqrt(w * h / self.MAX_BUCKETS))
        nx, ny = int(np.ceil(w / size)) or 1, int(np.ceil(h / size)) or 1
        self.x0, self.y0, self.size, self.nx, self.ny = minx, miny, size, nx, ny
        pad = self.PAD_DEG
        self._build_edges()
        # Candidate grids per bucket: every bucket under a grid's (padded) bounding box. A superset
        # of the grids touching it, which is fine: lookups test candidates exactly.
        b = shapely.bounds(self.geoms)
        ix0 = np.clip(np.floor((b[:, 0] - pad - minx) / size), 0, nx - 1).astype(np.int64)
        ix1 = np.clip(np.floor((b[:, 2] + pad - minx) / size), 0, nx - 1).astype(np.int64)
        iy0 = np.clip(np.floor((b[:, 1] - pad - miny) / size), 0, ny - 1).astype(np.int64)
        iy1 = np.clip(np.floor((b[:, 3] + pad - miny) / size), 0, ny - 1).astype(np.int64)
        wx, wy = ix1 - ix0 + 1, iy1 - iy0 + 1
        cnt = wx * wy
        g_idx = np.repeat(np.arange(n), cnt)
        k = np.arange(len(g_idx)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        w = np.repeat(wx, cnt)
        b_idx = (np.repeat(iy0, cnt) + k // w) * nx + np.repeat(ix0, cnt) + k % w
        order = np.lexsort((g_idx, b_idx))
        b_idx, g_idx = b_idx[order], g_idx[order]
        counts = np.bincount(b_idx, minlength=nx * ny)
        self.offsets = np.zeros(nx * ny + 1, dtype=np.int64)
        np.cumsum(counts, out=self.offsets[1:])
        self.members = g_idx.astype(np.int64)
        # Answer per bucket: the grid when pure, -1 when no grid is near, -2 = test candidates.
        answer = np.full(nx * ny, -2, dtype=np.int64)
        answer[counts == 0] = -1
        single = np.nonzero(counts == 1)[0]
        if len(single):
            grid = self.members[self.offsets[single]]
            pure = self._box_strictly_inside(single, grid)
            answer[single[pure]] = grid[pure]
        self.answer = answer
        # Python lists for the single-point path (no numpy scalar overhead).
        self._answer_list = answer.tolist()
        self._offsets_list = self.offsets.tolist()
        self._members_list = self.members.tolist()
        self._geom_list = list(self.geoms)
        self._rows = list(
            zip(
                self.ids.tolist(),
                self.codes.tolist(),
                self.community_ids.tolist(),
                self.street_ids.tolist(),
                self.district_ids.tolist(),
                strict=True,
            )
        )
        self._edge_lists: dict[int, list] = {}

    def _build_edges(self) -> None:
        n = len(self.geoms)
        # Every ring's edges, grouped per grid (CSR), for the vectorised crossing-number test.
        rings = shapely.get_rings(self.geoms, return_index=True)
        ring_geoms, ring_owner = rings
        coords, ring_of = shapely.get_coordinates(ring_geoms, return_index=True)
        same_ring = ring_of[1:] == ring_of[:-1]  # consecutive vertices of one ring = one edge
        start = np.nonzero(same_ring)[0]
        owner = ring_owner[ring_of[start]]
        order = np.argsort(owner, kind="stable")
        start, owner = start[order], owner[order]
        self.ex1, self.ey1 = coords[start, 0], coords[start, 1]
        self.ex2, self.ey2 = coords[start + 1, 0], coords[start + 1, 1]
        self.edge_offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(owner, minlength=n), out=self.edge_offsets[1:])

    def _box_strictly_inside(self, buckets: np.ndarray, grid: np.ndarray) -> np.ndarray:
        """Conservatively: is the padded box of each bucket inside the interior of its grid?

        True only when the box centre lies inside the grid (exact test) and no edge of the grid
        comes near the box (separating-axis test with a rounding margin): then every point of
        the box belongs to that grid alone (for non-overlapping grids) and needs no test.
        """
        pad, size = self.PAD_DEG, self.size
        bx = buckets % self.nx
        by = buckets // self.nx
        x0 = self.x0 + bx * size - pad
        y0 = self.y0 + by * size - pad
        x1 = self.x0 + (bx + 1) * size + pad
        y1 = self.y0 + (by + 1) * size + pad
        inside = self._contains_pairs(grid, (x0 + x1) / 2, (y0 + y1) / 2)
        count = self.edge_offsets[grid + 1] - self.edge_offsets[grid]
        pair = np.repeat(np.arange(len(grid)), count)
        edge = np.repeat(self.edge_offsets[grid], count) + (
            np.arange(len(pair)) - np.repeat(np.cumsum(count) - count, count)
        )
        ex1, ey1, ex2, ey2 = self.ex1[edge], self.ey1[edge], self.ex2[edge], self.ey2[edge]
        px0, py0, px1, py1 = x0[pair], y0[pair], x1[pair], y1[pair]
        overlap = (np.maximum(ex1, ex2) >= px0) & (np.minimum(ex1, ex2) <= px1)
        overlap &= (np.maximum(ey1, ey2) >= py0) & (np.minimum(ey1, ey2) <= py1)
        dx, dy = ex2 - ex1, ey2 - ey1
        tol = 1e-9 * (np.abs(dx) + np.abs(dy)) * (size + np.abs(dx) + np.abs(dy))
        sides = [
            dx * (cy - ey1) - dy * (cx - ex1) for cx, cy in ((px0, py0), (px1, py0), (px0, py1), (px1, py1))
        ]
        all_left = np.logical_and.reduce([s_ > tol for s_ in sides])
        all_right = np.logical_and.reduce([s_ < -tol for s_ in sides])
        touches = overlap & ~all_left & ~all_right
        near_edge = np.bincount(pair, weights=touches, minlength=len(grid)) > 0
        return inside & ~near_edge

    @classmethod
    def from_db(cls) -> GridIndex:

        revision = GeoRevision.current()
        rows = list(
            UnitGrid.objects.current()
            .order_by("code")
            .values_list("id", "code", "community_id", "street_id", "district_id", "geometry_wkb")
        )
        rows = [r for r in rows if r[5]]
        geoms = shapely.from_wkb([bytes(r[5]) for r in rows]) if rows else np.array([], dtype=object)
        cols: list = list(zip(*rows, strict=True)) if rows else [[], [], [], [], [], []]
        return cls(cols[0], cols[1], cols[2], cols[3], cols[4], geoms, revision)

    def lookup_one(self, lon: float, lat: float) -> int:
        """Index of the grid containing the canonical point, or -1 (shared edge: lowest code)."""
        if not self.nx:
            return -1
        fx = (lon - self.x0) / self.size
        fy = (lat - self.y0) / self.size
        if not (0.0 <= fx < self.nx and 0.0 <= fy < self.ny):
            return -1
        b = int(fy) * self.nx + int(fx)
        a = self._answer_list[b]
        if a != -2:
            return a
        for i in self._members_list[self._offsets_list[b] : self._offsets_list[b + 1]]:
            if self._contains_one(i, lon, lat):
                return i
        return -1

    def _contains_one(self, i: int, px: float, py: float) -> bool:
        """Pure-Python crossing count for one grid (GEOS decides points within rounding of an edge)."""
        edges = self._edge_lists.get(i)
        if edges is None:
            lo, hi = int(self.edge_offsets[i]), int(self.edge_offsets[i + 1])
            edges = list(
                zip(
                    self.ex1[lo:hi].tolist(),
                    self.ey1[lo:hi].tolist(),
                    self.ex2[lo:hi].tolist(),
                    self.ey2[lo:hi].tolist(),
                    strict=True,
                )
            )
            self._edge_lists[i] = edges
        odd = False
        for x1, y1, x2, y2 in edges:
            straddles = (y1 > py) != (y2 > py)
            if not straddles and y1 != py and y2 != py:
                continue
            dx, dy, ax, ay = x2 - x1, y2 - y1, px - x1, py - y1
            cross = dx * ay - dy * ax
            if (
                abs(cross) <= 1e-9 * (abs(dx * ay) + abs(dy * ax))
                and min(x1, x2) <= px <= max(x1, x2)
                and min(y1, y2) <= py <= max(y1, y2)
            ):
                return bool(shapely.intersects_xy(self._geom_list[i], px, py))
            if straddles and (cross > 0) == (dy > 0):
                odd = not odd
        return odd

    def lookup_many(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Vectorised: grid index per canonical point, -1 outside (shared edge: lowest code)."""
        lons = np.asarray(lons, dtype=float)
        lats = np.asarray(lats, dtype=float)
        n = len(lons)
        out = np.full(n, -1, dtype=np.int64)
        if n == 0 or not self.nx:
            return out
        fx = (lons - self.x0) / self.size
        fy = (lats - self.y0) / self.size
        inside = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        pts = np.nonzero(inside)[0]
        b = fy[pts].astype(np.int64) * self.nx + fx[pts].astype(np.int64)
        answer = self.answer[b]
        out[pts] = np.where(answer == -2, -1, answer)
        todo = answer == -2
        if not todo.any():
            return out
        pts, b = pts[todo], b[todo]
        start, count = self.offsets[b], self.offsets[b + 1] - self.offsets[b]
        # Expand every point to its candidates (sorted by code within the bucket).
        rep_pt = np.repeat(np.arange(len(pts)), count)
        within = np.arange(len(rep_pt)) - np.repeat(np.cumsum(count) - count, count)
        cand = self.members[np.repeat(start, count) + within]
        px, py = lons[pts], lats[pts]
        hit = np.empty(len(cand), dtype=bool)
        step = 250_000  # bounded memory: candidate pairs per chunk
        for lo in range(0, len(cand), step):
            sl = slice(lo, lo + step)
            hit[sl] = self._contains_pairs(cand[sl], px[rep_pt[sl]], py[rep_pt[sl]])
        # The first hit per point is its lowest code; iterate in reverse so the first wins.
        hp, hc = rep_pt[hit], cand[hit]
        result = np.full(len(pts), -1, dtype=np.int64)
        result[hp[::-1]] = hc[::-1]
        out[pts] = result
        return out

    def _contains_pairs(self, cand: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        """intersects(grid cand[k], point k) for candidate pairs, by even-odd crossing counting in
        numpy; pairs with the point on or within rounding distance of an edge are decided by GEOS
        (``intersects_xy``), so the answer is GEOS's, boundary included."""
        count = self.edge_offsets[cand + 1] - self.edge_offsets[cand]
        pair = np.repeat(np.arange(len(cand)), count)
        edge = np.repeat(self.edge_offsets[cand], count) + (
            np.arange(len(pair)) - np.repeat(np.cumsum(count) - count, count)
        )
        qy_all = py[pair]
        y1, y2 = self.ey1[edge], self.ey2[edge]
        straddles = (y1 > qy_all) != (y2 > qy_all)
        # Only edges spanning the point's latitude can cross its ray or carry it; a point ON a
        # non-spanning edge lies on a horizontal edge or a vertex at its latitude.
        keep = straddles | (y1 == qy_all) | (y2 == qy_all)
        pair, edge, straddles = pair[keep], edge[keep], straddles[keep]
        y1, y2 = y1[keep], y2[keep]
        x1, x2 = self.ex1[edge], self.ex2[edge]
        qx, qy = px[pair], qy_all[keep]
        dx, dy = x2 - x1, y2 - y1
        ax, ay = qx - x1, qy - y1
        cross = dx * ay - dy * ax  # orientation of the point against the edge
        # Near an edge's line AND within its box: rounding could decide; let GEOS decide instead.
        near = np.abs(cross) <= 1e-9 * (np.abs(dx * ay) + np.abs(dy * ax))
        near &= (qx >= np.minimum(x1, x2)) & (qx <= np.maximum(x1, x2))
        near &= (qy >= np.minimum(y1, y2)) & (qy <= np.maximum(y1, y2))
        # Crossing to the east of the point: sign of cross relative to the edge's direction.
        crosses = straddles & ((cross > 0) == (dy > 0))
        odd = (np.bincount(pair, weights=crosses, minlength=len(cand)) % 2) == 1
        unsure = np.bincount(pair, weights=near, minlength=len(cand)) > 0
        if unsure.any():
            k = np.nonzero(unsure)[0]
            odd[k] = shapely.intersects_xy(self.geoms[cand[k]], px[k], py[k])
        return odd

    def lookup_many_strtree(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """The same answer through STRtree.query(points, "intersects") (reference and fallback)."""
        n = len(lons)
        out = np.full(n, -1, dtype=np.int64)
        if n == 0 or len(self.ids) == 0:
            return out
        inp, tree_idx = self.tree.query(shapely.points(lons, lats), predicate="intersects")
        if len(inp) == 0:
            return out
        order = np.lexsort((tree_idx, inp))
        inp, tree_idx = inp[order], tree_idx[order]
        first = np.empty(len(inp), dtype=bool)
        first[0] = True
        np.not_equal(inp[1:], inp[:-1], out=first[1:])
        out[inp[first]] = tree_idx[first]
        return out

    def location(self, i: int, lon: float, lat: float) -> Location:
        grid_id, code, community_id, street_id, district_id = self._rows[i]
        return Location(grid_id, code, community_id, street_id, district_id, lon, lat)


_lock = threading.Lock()
_state: dict = {"index": None, "checked": 0.0}


def invalidate() -> None:
    """Drop this process's index; the next call rebuilds it from the database."""
    with _lock:
        _state["index"] = None
        _state["checked"] = 0.0


def get_index(*, force_check: bool = False) -> GridIndex:
    """The current index, rebuilt if the geometry revision moved (checked at most once a second)."""
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


def degree_box(lon: float, lat: float, metres: float) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of the square reaching ``metres`` around a point."""
    dlat = metres / 111_320.0
    dlon = metres / (111_320.0 * max(0.01, math.cos(math.radians(lat))))
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def grid_codes_near(lon: float, lat: float, metres: float) -> list[str]:
    """Codes of the current grids that may lie within ``metres`` of a canonical point (their
    envelopes meet the square around it): the grids a search around the point has to look in."""
    index = get_index()
    if not len(index):
        return []
    hits = index.tree.query(shapely.box(*degree_box(lon, lat, metres)))
    return index.codes[hits].tolist()


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
