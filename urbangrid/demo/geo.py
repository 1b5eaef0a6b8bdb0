"""The demo city's geography (示范市): deterministic from a seed, built through the real import and
grid-division actions.

One city (code CITY_CODE + "00", e.g. 619900) with one district (619902 示范区) of 4 street offices
(街道, codes 001-004) and 4 towns (镇, codes 101-104), each with communities (社区, 001-) or
villages (村, 201-), around lon 108.95, lat 34.27 (3-degree GK zone 36, EPSG:4545).

Boundaries are built in metres: the district is an irregular star-shaped polygon; streets are the
Voronoi cells of 8 seeds (streets inside, towns on the fringe) and communities the Voronoi cells
of seeds inside each street. All the cutting lines are noded TOGETHER and polygonised once, so
every region at every level shares exact vertices with its neighbours and the levels tile each
other exactly (the coverage proof finds nothing). The regions are imported as GeoJSON in the GK
zone (the form survey data arrives in), then every community is divided into unit grids.

``small``: about 3 km², ~300 grids, 2 communities per street/town (seconds, for tests).
``city``: about 50 km², ~5,000 grids, 6 communities per street/town.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import shapely
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from shapely.geometry import LineString, MultiPoint, Point, Polygon

from urbangrid.geo.actions import do_divide_grids, do_import_regions, grid_target_m2
from urbangrid.geo.choices import RegionKind
from urbangrid.geo.crs import _transformer, gk_epsg_for_zone
from urbangrid.geo.division import GRID_SIZE_M
from urbangrid.geo.models import Region

CENTER_LON, CENTER_LAT = 108.95, 34.27
DEMO_EPSG = gk_epsg_for_zone(36)  # CGCS2000 / 3-degree GK CM 108E

SCALES = {
    # district area (m²), communities per street/town
    "small": {"area": 3.0e6, "per_street": 2},
    "city": {"area": 50.0e6, "per_street": 6},
}

STREETS = [("001", "东关街道"), ("002", "西城街道"), ("003", "南苑街道"), ("004", "北辰街道")]
TOWNS = [("101", "柳河镇"), ("102", "石桥镇"), ("103", "杜曲镇"), ("104", "新丰镇")]
COMMUNITY_NAMES = [
    "朝阳",
    "和平",
    "幸福",
    "建设",
    "育才",
    "兴隆",
    "文化路",
    "东风",
    "光明",
    "新华",
    "民主",
    "长安",
    "永宁",
    "安居",
    "康乐",
    "翠华",
    "金桥",
    "丰庆",
    "南关",
    "西苑",
    "锦园",
    "书院",
    "太白",
    "雁塔",
    "青年路",
    "东大街",
    "解放门",
    "尚德",
    "环城",
    "大学城",
    "纺织城",
    "电子城",
    "枫林",
    "曲江",
    "红庙坡",
    "桃园",
    "劳动路",
    "友谊",
]
VILLAGE_NAMES = [
    "王家庄",
    "李家堡",
    "张家寨",
    "赵村",
    "刘家沟",
    "陈家湾",
    "杨家河",
    "周家坡",
    "吴家坟",
    "孙家滩",
    "马家营",
    "胡家庙",
    "郭杜",
    "何家寨",
    "高桥",
    "林家台",
    "罗家寨",
    "梁家庄",
    "宋家村",
    "韩家湾",
    "唐家寨",
    "许家庄",
    "冯家堡",
    "曹家坡",
    "彭家河",
    "田家村",
    "董家寨",
    "袁家庄",
]


@dataclass
class DemoGeography:
    """What build_demo_geography created."""

    city: Region
    district: Region
    streets: list[Region] = field(default_factory=list)
    communities: list[Region] = field(default_factory=list)
    grids: int = 0
    area_m2: float = 0.0


def _noop(*_args, **_kwargs) -> None:
    return None


def _district_polygon(rng: np.random.Generator, cx: float, cy: float, area: float) -> Polygon:
    """An irregular star-shaped polygon of about ``area`` m² (smooth random radius)."""
    n = 36
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    phases = rng.uniform(0, 2 * math.pi, 3)
    radius = (
        1.0
        + 0.10 * np.sin(2 * angles + phases[0])
        + 0.07 * np.sin(3 * angles + phases[1])
        + 0.04 * np.sin(5 * angles + phases[2])
    )
    poly = Polygon(np.column_stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)]))
    scale = math.sqrt(area / poly.area)
    xy = np.column_stack([cx + scale * radius * np.cos(angles), cy + scale * radius * np.sin(angles)])
    return Polygon(np.round(xy, 3))


def _seeds_in(rng: np.random.Generator, polygon, k: int) -> list[Point]:
    """k well-spread points inside ``polygon`` (best of several candidates, farthest first)."""
    minx, miny, maxx, maxy = polygon.bounds
    shapely.prepare(polygon)
    chosen: list[Point] = []
    while len(chosen) < k:
        cand = shapely.points(rng.uniform(minx, maxx, 64), rng.uniform(miny, maxy, 64))
        cand = cand[shapely.contains(polygon, cand)]
        if len(cand) == 0:
            continue
        if not chosen:
            # Start near the inside-most candidate for stable, central layouts.
            d = shapely.distance(cand, polygon.boundary)
            chosen.append(cand[int(np.argmax(d))])
            continue
        dist = np.min([shapely.distance(cand, c) for c in chosen], axis=0)
        dist = np.minimum(dist, 0.8 * shapely.distance(cand, polygon.boundary))
        chosen.append(cand[int(np.argmax(dist))])
    return chosen


def _voronoi_edges(points: list[Point], envelope) -> list[LineString]:
    if len(points) < 2:
        return []
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=envelope)
    return [shapely.boundary(c) for c in cells.geoms]


def demo_epoch() -> datetime:
    """Since when the demo's grids (and the organisation's grid assignments and secondments) are
    valid: 1 January of last year, so that a history of up to a year finds the grids of its days
    (a past day's patrol coverage, a case's grid version)."""
    return timezone.make_aware(datetime(timezone.localdate().year - 1, 1, 1))


def build_layout(seed: int, scale: str = "small") -> dict:
    """Pure geometry of the demo (metres, EPSG:4545): district, 8 street cells, communities.

    Returns {"district": Polygon, "streets": [(suffix, name, kind, Polygon, [community Polygon...])]}.
    Every polygon is a union of faces from ONE polygonisation, so neighbours share exact vertices.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; use one of {sorted(SCALES)}")
    conf = SCALES[scale]
    rng = np.random.default_rng(seed)
    cx, cy = _transformer(4490, DEMO_EPSG).transform(CENTER_LON, CENTER_LAT)
    district = _district_polygon(rng, cx, cy, conf["area"])
    r = math.sqrt(conf["area"] / math.pi)

    # Streets in the centre (NE, NW, SW, SE), towns on the fringe (E, N, W, S), slightly jittered.
    street_seeds = []
    for i in range(4):
        a = math.pi / 4 + i * math.pi / 2 + rng.uniform(-0.2, 0.2)
        street_seeds.append(Point(cx + 0.28 * r * math.cos(a), cy + 0.28 * r * math.sin(a)))
    for i in range(4):
        a = i * math.pi / 2 + rng.uniform(-0.2, 0.2)
        street_seeds.append(Point(cx + 0.72 * r * math.cos(a), cy + 0.72 * r * math.sin(a)))
    envelope = district.buffer(r)
    street_cells = list(
        shapely.voronoi_polygons(MultiPoint(street_seeds), extend_to=envelope, ordered=True).geoms
    )
    street_areas = [cell.intersection(district) for cell in street_cells]

    lines: list = [district.boundary, *[c.boundary for c in street_cells]]
    community_seeds: list[list[Point]] = []
    for area in street_areas:
        seeds = _seeds_in(rng, area, int(conf["per_street"]))
        community_seeds.append(seeds)
        # Cut lines overshoot the street by 1 mm so that they cross its boundary (no dangles inside).
        for edge in _voronoi_edges(seeds, envelope):
            piece = edge.intersection(area.buffer(0.001))
            if not piece.is_empty:
                lines.append(piece)
    noded = shapely.unary_union(np.array(lines, dtype=object), grid_size=GRID_SIZE_M)
    faces = np.array(shapely.get_parts(shapely.polygonize([noded])), dtype=object)
    faces = np.array(shapely.get_parts(faces), dtype=object)
    reps = shapely.point_on_surface(faces)
    shapely.prepare(district)
    faces, reps = faces[shapely.contains(district, reps)], reps[shapely.contains(district, reps)]

    street_xy = np.array([[p.x, p.y] for p in street_seeds])
    rep_xy = shapely.get_coordinates(reps)
    street_of = np.argmin(((rep_xy[:, None, :] - street_xy[None, :, :]) ** 2).sum(axis=2), axis=1)
    out_streets = []
    specs = [(s, n, RegionKind.STREET) for s, n in STREETS] + [(s, n, RegionKind.TOWN) for s, n in TOWNS]
    for si, (suffix, name, kind) in enumerate(specs):
        mine = np.nonzero(street_of == si)[0]
        seed_xy = np.array([[p.x, p.y] for p in community_seeds[si]])
        comm_of = np.argmin(((rep_xy[mine][:, None, :] - seed_xy[None, :, :]) ** 2).sum(axis=2), axis=1)
        communities = []
        for ci in range(len(seed_xy)):
            parts = faces[mine[comm_of == ci]]
            if len(parts):
                communities.append(shapely.coverage_union_all(parts))
        # Order communities north-west first so that codes read like a map.
        communities.sort(key=lambda g: (-round(g.centroid.y, -2), g.centroid.x))
        street_geom = shapely.coverage_union_all(faces[mine])
        out_streets.append((suffix, name, kind, street_geom, communities))
    return {"district": shapely.coverage_union_all(faces), "streets": out_streets}


def _feature(code: str, name: str, kind: str, geom) -> dict:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, "kind": kind},
        "geometry": shapely.geometry.mapping(geom),
    }


def build_demo_geography(
    seed: int, scale: str = "small", progress: Callable[[str], None] | None = None, *, actor=None
) -> DemoGeography:
    """Create the demo city's regions and unit grids (see the module docstring)."""
    progress = progress or _noop
    progress(f"geography: laying out the {scale} district (seed {seed})")
    layout = build_layout(seed, scale)
    city_code = str(settings.URBANGRID.get("CITY_CODE", "6199"))[:4] + "00"
    district_code = city_code[:4] + "02"
    names = random.Random(seed)
    community_names = COMMUNITY_NAMES[:]
    village_names = VILLAGE_NAMES[:]
    names.shuffle(community_names)
    names.shuffle(village_names)

    features = [
        _feature(
            city_code, str(settings.URBANGRID.get("CITY_NAME", "示范市")), RegionKind.CITY, layout["district"]
        ),
        _feature(district_code, "示范区", RegionKind.DISTRICT, layout["district"]),
    ]
    n_comm = n_vill = 0
    for suffix, name, kind, street_geom, communities in layout["streets"]:
        street_code = district_code + suffix
        features.append(_feature(street_code, name, kind, street_geom))
        for seq, geom in enumerate(communities, start=1):
            if kind == RegionKind.STREET:
                n_comm += 1
                code = street_code + f"{seq:03d}"
                cname = community_names[(n_comm - 1) % len(community_names)] + "社区"
                features.append(_feature(code, cname, RegionKind.COMMUNITY, geom))
            else:
                n_vill += 1
                code = street_code + f"{200 + seq:03d}"
                vname = village_names[(n_vill - 1) % len(village_names)]
                vname = vname if vname.endswith("村") else vname + "村"  # 赵村, not 赵村村
                features.append(_feature(code, vname, RegionKind.VILLAGE, geom))

    with transaction.atomic():
        progress(f"geography: importing {len(features)} regions (CGCS2000 GK zone 36, EPSG:{DEMO_EPSG})")
        do_import_regions(
            actor, {"type": "FeatureCollection", "features": features}, "cgcs2000_gk", epsg=DEMO_EPSG
        )
        city = Region.objects.get(code=city_code)
        district = Region.objects.get(code=district_code)
        streets = list(Region.objects.filter(parent=district).order_by("code"))
        communities = list(Region.objects.filter(parent__in=streets).order_by("code"))
        grids = 0
        target = grid_target_m2()
        for i, community in enumerate(communities, start=1):
            created = do_divide_grids(actor, community, target, valid_from=demo_epoch())
            grids += len(created)
            progress(
                f"geography: divided {community.name} into {len(created)} grids ({i}/{len(communities)})"
            )
    progress(
        f"geography: {len(communities)} communities/villages, {grids} unit grids, {district.area_m2 / 1e6:.1f} km²"
    )
    return DemoGeography(
        city=city,
        district=district,
        streets=streets,
        communities=communities,
        grids=grids,
        area_m2=district.area_m2,
    )
