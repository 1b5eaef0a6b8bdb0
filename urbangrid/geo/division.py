"""Grid division (网格划分): cut a community/village polygon into unit grids of about a target area.

The algorithm works in metres (the CGCS2000 GK zone of the polygon):

1. A square lattice of side sqrt(target) is centred on the polygon's bounding box.
2. The lattice lines and the polygon's rings are noded together ONCE and polygonised, so every
   face shares exact vertices with its neighbours (no floating-point gaps between cells: clipping
   each cell separately would compute the same boundary crossing twice, possibly differently).
   Faces inside the polygon (not in its holes) are the pieces; a lattice cell that the boundary
   cuts into disconnected parts yields one piece per part.
3. Slivers (pieces under ``sliver_ratio`` x target, default 40 %) are merged, smallest first, into
   the neighbour that shares the longest edge with them (ties: the lower piece index, i.e. the
   north-western one). A piece with no edge neighbour (an island) stays a grid of its own.
4. Grids are numbered row-major from the north-west: by the lattice row (north->south) and column
   (west->east) of each grid's largest piece, then by its centroid.

Returned geometries are converted back to lon/lat; vertices of the input boundary are restored
bit-for-bit (the projection round trip would move them by ~1e-15 degrees), so the grids' union is
the community polygon up to the floating noise of the new boundary crossings (< 1e-6 m²).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon

from . import crs as crs_mod

DEFAULT_SLIVER_RATIO = 0.4
# Vertices of divided grids lie on a 1 µm lattice in the metric CRS (see partition()).
GRID_SIZE_M = 1e-6


@dataclass
class Cell:
    """One unit grid produced by the division, in metres (``geometry``) and lon/lat (``lonlat``)."""

    seq: int
    geometry: Polygon
    area_m2: float
    row: int
    col: int
    lonlat: Polygon | None = None


def polygon_parts(geom) -> list[Polygon]:
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    return [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon)]


def partition(polygon, cutters, grid_size: float | None = GRID_SIZE_M) -> list[Polygon]:
    """Faces of ``polygon`` cut by the ``cutters`` line geometries, with exact shared vertices.

    The linework is snap-rounded to ``grid_size`` (1 µm) while it is noded: that makes the noding
    robust and removes sub-micrometre spikes where a cutter passes a boundary vertex, which would
    otherwise turn into invalid slivers once projected to degrees. Lines that end short of the
    boundary leave dangles, which polygonize ignores; cutters should cross the polygon completely.
    """
    lines = [polygon.boundary, *cutters]
    noded = shapely.unary_union(np.array(lines, dtype=object), grid_size=grid_size)
    faces = np.array(shapely.get_parts(shapely.polygonize([noded])), dtype=object)
    if len(faces) == 0:
        return []
    faces = np.array(shapely.get_parts(faces), dtype=object)
    reps = shapely.point_on_surface(faces)
    shapely.prepare(polygon)
    inside = shapely.contains(polygon, reps)
    return list(faces[inside])


def lattice(bounds, size: float) -> tuple[list[LineString], float, float, int, int]:
    """Lattice lines covering ``bounds`` (extended slightly) and its origin (west, north) and shape."""
    minx, miny, maxx, maxy = bounds
    w, h = maxx - minx, maxy - miny
    nx = max(1, math.ceil(w / size))
    ny = max(1, math.ceil(h / size))
    west = (minx + maxx) / 2 - nx * size / 2
    north = (miny + maxy) / 2 + ny * size / 2
    pad = size
    lines: list[LineString] = []
    for i in range(1, nx):
        x = west + i * size
        lines.append(LineString([(x, miny - pad), (x, maxy + pad)]))
    for j in range(1, ny):
        y = north - j * size
        lines.append(LineString([(minx - pad, y), (maxx + pad, y)]))
    return lines, west, north, nx, ny


def shared_lengths(faces: list[Polygon]) -> dict[tuple[int, int], float]:
    """Length of the common boundary of every pair of faces that share an edge (i < j)."""
    if len(faces) < 2:
        return {}
    arr = np.array(faces, dtype=object)
    tree = shapely.STRtree(arr)
    left, right = tree.query(arr, predicate="intersects")
    mask = left < right
    left, right = left[mask], right[mask]
    if len(left) == 0:
        return {}
    bounds = shapely.boundary(arr)
    common = shapely.intersection(bounds[left], bounds[right])
    lengths = shapely.length(common)
    return {
        (int(a), int(b)): float(length)
        for a, b, length in zip(left, right, lengths, strict=True)
        if length > 0
    }


@dataclass
class _Groups:
    """Faces merged into groups, union-find style: each group starts as one face and keeps the
    number of the face it started from."""

    group_of: list[int]
    members: dict[int, list[int]]
    area: dict[int, float]
    adjacency: dict[int, dict[int, float]]  # group -> neighbouring group -> shared boundary length

    @classmethod
    def of_faces(cls, faces: list, areas: np.ndarray) -> _Groups:
        n = len(faces)
        groups = cls(
            group_of=list(range(n)),
            members={i: [i] for i in range(n)},
            area={i: float(areas[i]) for i in range(n)},
            adjacency={i: {} for i in range(n)},
        )
        for (a, b), length in shared_lengths(faces).items():
            groups.adjacency[a][b] = groups.adjacency[a].get(b, 0.0) + length
            groups.adjacency[b][a] = groups.adjacency[b].get(a, 0.0) + length
        return groups

    def longest_neighbour(self, g: int) -> int:
        """The neighbour sharing the longest boundary with g (the lowest number on a tie)."""
        return max(self.adjacency[g].items(), key=lambda kv: (kv[1], -kv[0]))[0]

    def merge(self, g: int, target: int) -> None:
        for m in self.members.pop(g):
            self.group_of[m] = target
            self.members[target].append(m)
        self.area[target] += self.area.pop(g)
        adjacency = self.adjacency
        for other, length in adjacency.pop(g).items():
            if other == target:
                adjacency[target].pop(g, None)
                continue
            adjacency[other].pop(g, None)
            adjacency[other][target] = adjacency[other].get(target, 0.0) + length
            adjacency[target][other] = adjacency[target].get(other, 0.0) + length


def _merge_slivers(faces: list, areas: np.ndarray, threshold: float) -> dict[int, list[int]]:
    """Merges every face group smaller than ``threshold`` into the neighbour it shares most
    boundary with; returns the faces of each remaining group."""
    groups = _Groups.of_faces(faces, areas)
    # Smallest first, so that a sliver merges before its neighbour might itself be merged away.
    for face in sorted(range(len(faces)), key=lambda i: (areas[i], i)):
        g = groups.group_of[face]
        if g != face or groups.area[g] >= threshold or not groups.adjacency[g]:
            continue
        groups.merge(g, groups.longest_neighbour(g))
    return groups.members


def divide_metric(polygon, target_m2: float, *, sliver_ratio: float = DEFAULT_SLIVER_RATIO) -> list[Cell]:
    """Divide a polygon given in metres into numbered cells (see the module docstring)."""
    if polygon is None or polygon.is_empty:
        return []
    if target_m2 <= 0:
        raise ValueError("target_m2 must be positive")
    size = math.sqrt(target_m2)
    lines, west, north, _nx, _ny = lattice(polygon.bounds, size)
    faces = partition(polygon, lines) if lines else polygon_parts(polygon)
    if not faces:
        return []
    areas = shapely.area(np.array(faces, dtype=object))
    reps = shapely.point_on_surface(np.array(faces, dtype=object))
    cols = np.floor((shapely.get_x(reps) - west) / size).astype(int)
    rows = np.floor((north - shapely.get_y(reps)) / size).astype(int)

    cells: list[Cell] = []
    for idx in _merge_slivers(faces, areas, sliver_ratio * target_m2).values():
        # Members are edge-adjacent faces of one noding: the coverage union is exact and fast.
        geom = faces[idx[0]] if len(idx) == 1 else shapely.coverage_union_all([faces[i] for i in idx])
        anchor = max(idx, key=lambda i: (areas[i], -i))
        cells.append(
            Cell(seq=0, geometry=geom, area_m2=float(geom.area), row=int(rows[anchor]), col=int(cols[anchor]))
        )
    cells.sort(key=lambda c: (c.row, c.col, -c.geometry.centroid.y, c.geometry.centroid.x))
    for i, c in enumerate(cells, start=1):
        c.seq = i
    return cells


def _restore_vertices(metric_geoms: np.ndarray, epsg: int, original_ll, original_m) -> np.ndarray:
    """metric -> lon/lat, putting the original boundary vertices back exactly."""
    coords = shapely.get_coordinates(metric_geoms)
    lon, lat = crs_mod._transformer(epsg, crs_mod.CANONICAL_EPSG).transform(coords[:, 0], coords[:, 1])
    out = np.column_stack([lon, lat])
    ll = shapely.get_coordinates(original_ll)
    # The noding snapped boundary vertices to the micrometre lattice: look them up rounded.
    mm = shapely.get_coordinates(shapely.set_precision(original_m, GRID_SIZE_M, mode="pointwise"))
    lookup = {(float(x), float(y)): i for i, (x, y) in enumerate(mm)}
    for k, (x, y) in enumerate(coords):
        i = lookup.get((float(x), float(y)))
        if i is not None:
            out[k] = ll[i]
    return shapely.set_coordinates(shapely.transform(metric_geoms, lambda c: c), out)


def divide_lonlat(
    polygon_ll, target_m2: float, *, sliver_ratio: float = DEFAULT_SLIVER_RATIO, epsg: int | None = None
) -> list[Cell]:
    """Divide a canonical lon/lat polygon; cells carry both metric and lon/lat geometry."""
    metric, epsg = crs_mod.to_metric(polygon_ll, epsg)
    cells = divide_metric(metric, target_m2, sliver_ratio=sliver_ratio)
    if not cells:
        return cells
    lonlat = _restore_vertices(np.array([c.geometry for c in cells], dtype=object), epsg, polygon_ll, metric)
    for cell, geom in zip(cells, lonlat, strict=True):
        cell.lonlat = geom
    return cells
