"""Geo benchmarks: locator (batch of 1 M points, single point) against a per-point prepared-polygon
loop baseline, and grid division + coverage proof at `city` scale (time and peak memory).

The `city` geography is built in memory with the app's own code (urbangrid.demo.geo.build_layout
and urbangrid.geo.division.divide_lonlat), without the database, because what is measured is the
geometry; ``--db`` additionally builds it through the real actions into a scratch SQLite database
and times check_region() on it.

Usage:  .venv/bin/python bench/geo/bench_geo.py [--points 1000000] [--db] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "urbangrid.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import shapely  # noqa: E402

from urbangrid.geo import coverage, crs, demo, division, locator  # noqa: E402
from urbangrid.geo.locator import GridIndex  # noqa: E402

SEED = 1


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}, shapely {shapely.__version__} "
        f"(GEOS {'.'.join(map(str, shapely.geos_version))}), numpy {np.__version__}"
    )


def measure(fn, *args, **kwargs):
    """(result, seconds, peak traced MiB) of one call."""
    tracemalloc.start()
    t = time.perf_counter()
    result = fn(*args, **kwargs)
    seconds = time.perf_counter() - t
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def build_city_grids():
    """The city layout, then every community divided with the app's division (lon/lat grids)."""
    layout = demo.build_layout(SEED, "city")
    communities = [crs.from_metric(c, demo.DEMO_EPSG) for s in layout["streets"] for c in s[4]]
    geoms, codes = [], []
    for k, community in enumerate(communities):
        for cell in division.divide_lonlat(community, 10_000.0):
            geoms.append(cell.lonlat)
            codes.append(f"619902{k:06d}{cell.seq:03d}")
    return layout, communities, np.array(geoms, dtype=object), np.array(codes, dtype=object)


def bench_division(lines: list[str]):
    layout, communities, geoms, codes = None, None, None, None

    def run():
        nonlocal layout, communities, geoms, codes
        layout, communities, geoms, codes = build_city_grids()

    _r, seconds, peak = measure(run)
    area = layout["district"].area
    lines.append(
        f"| grid division, whole `city` ({len(communities)} communities, {area / 1e6:.1f} km²) "
        f"→ {len(geoms):,} grids | {seconds:.2f} s | {peak:.0f} MiB | — |"
    )
    return layout, geoms, codes


def bench_coverage(lines: list[str], layout, geoms, codes):
    district_ll = crs.from_metric(layout["district"], demo.DEMO_EPSG)
    groups = np.array([c[:12] for c in codes], dtype=object)

    def run():
        boundary_m = crs.to_metric(district_ll, demo.DEMO_EPSG)[0]
        grids_m = crs.to_metric(geoms, demo.DEMO_EPSG)[0]
        return coverage.analyse(boundary_m, grids_m, codes, demo.DEMO_EPSG, 1.0, groups=groups)

    run()  # warm-up (imports, allocator)
    times, cpus = [], []
    for _ in range(5):
        c = time.process_time()
        findings, seconds, peak = measure(run)
        cpus.append(time.process_time() - c)
        times.append(seconds)
    assert findings == [], findings
    lines.append(
        f"| coverage proof of the district, {len(geoms):,} grids (median of 5; 0 findings) | "
        f"{statistics.median(times):.3f} s wall, {statistics.median(cpus):.3f} s CPU | {peak:.0f} MiB | < 2 s |"
    )

    # Baseline: the naive proof (unary_union of everything + every intersecting pair intersected).
    def naive():
        boundary_m = crs.to_metric(district_ll, demo.DEMO_EPSG)[0]
        grids_m = crs.to_metric(geoms, demo.DEMO_EPSG)[0]
        union = shapely.union_all(grids_m)
        tree = shapely.STRtree(grids_m)
        a, b = tree.query(grids_m, predicate="intersects")
        keep = a < b
        inter = shapely.intersection(grids_m[a[keep]], grids_m[b[keep]])
        return shapely.area(inter).max(), shapely.difference(boundary_m, union).area

    _r, base_s, base_peak = measure(naive)
    lines.append(
        f"| baseline: naive proof (union_all + intersect every touching pair), same grids | {base_s:.3f} s | "
        f"{base_peak:.0f} MiB | ratio {base_s / statistics.median(times):.1f}× |"
    )
    # A crafted problem is found too (one grid removed = gap, one grown = overlaps).
    g2 = geoms.copy()
    g2[10] = shapely.buffer(g2[10], 0.00005)
    g2 = np.delete(g2, 500)
    c2, gr2 = np.delete(codes, 500), np.delete(groups, 500)

    def crafted():
        boundary_m = crs.to_metric(district_ll, demo.DEMO_EPSG)[0]
        grids_m = crs.to_metric(g2, demo.DEMO_EPSG)[0]
        return coverage.analyse(boundary_m, grids_m, c2, demo.DEMO_EPSG, 1.0, groups=gr2)

    found, crafted_s, _p = measure(crafted)
    kinds = sorted({f.kind for f in found})
    lines.append(
        f"| coverage proof with a crafted gap and overlap ({len(found)} findings: {', '.join(kinds)}) | "
        f"{crafted_s:.3f} s | — | < 2 s |"
    )


def bench_locator(lines: list[str], geoms, codes, n_points: int):
    n = len(geoms)
    # Timed without tracemalloc: tracing the index's Python lists would dominate the time.
    t = time.perf_counter()
    index = GridIndex(
        np.arange(1, n + 1),
        codes,
        np.arange(n) // 100,
        np.arange(n) // 1000,
        np.zeros(n, dtype=int),
        geoms,
        0,
    )
    build_s = time.perf_counter() - t
    arrays = sum(v.nbytes for v in vars(index).values() if isinstance(v, np.ndarray) and v.dtype != object)
    lines.append(
        f"| locator index build ({n:,} grids: STRtree, prepared polygons, {index.nx}×{index.ny} buckets, "
        f"{(index.answer >= 0).mean():.0%} answered without a test) | {build_s:.2f} s | {arrays / 2**20:.0f} MiB numpy arrays | — |"
    )
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    rng = np.random.default_rng(42)
    lons = rng.uniform(minx, maxx, n_points)
    lats = rng.uniform(miny, maxy, n_points)

    index.lookup_many(lons[:10_000], lats[:10_000])  # warm-up
    best = best_cpu = None
    for _ in range(3):
        c = time.process_time()
        t = time.perf_counter()
        result = index.lookup_many(lons, lats)
        s = time.perf_counter() - t
        cpu = time.process_time() - c
        best = s if best is None else min(best, s)
        best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
    inside = int((result >= 0).sum())
    batch_rate = n_points / best
    lines.append(
        f"| locator batch, {n_points:,} random points in the district's bbox ({inside / n_points:.0%} inside; best of 3) "
        f"| {best:.3f} s wall = **{batch_rate:,.0f} points/s**; {best_cpu:.3f} s CPU = {n_points / best_cpu:,.0f} points per CPU-second "
        f"| — | ≥ 1,000,000 points/s |"
    )
    # Full public batch path (locate_many: CRS conversion of GCJ-02 input + lookup), one run.
    g_lon, g_lat = crs.from_canonical_many(lons, lats, "gcj02")
    locator._state["index"], locator._state["checked"] = index, time.monotonic()
    old_interval = locator.CHECK_INTERVAL_S
    locator.CHECK_INTERVAL_S = float("inf")  # no database here: keep the injected index
    try:
        t = time.perf_counter()
        idx = index.lookup_many(*crs.to_canonical_many(g_lon, g_lat, "gcj02"))
        gcj_s = time.perf_counter() - t
        assert (idx == result).mean() > 0.9999
        lines.append(
            f"| locator batch from GCJ-02 input (iterative inverse + lookup), {n_points:,} points | {gcj_s:.3f} s = "
            f"{n_points / gcj_s:,.0f} points/s | — | — |"
        )

        # Single point latency through the public locate() (WGS-84 input, Location built).
        sample = 20_000
        pts = list(zip(lons[:sample].tolist(), lats[:sample].tolist(), strict=True))
        for x, y in pts[:1000]:
            locator.locate(x, y)
        c = time.process_time()
        t = time.perf_counter()
        for x, y in pts:
            locator.locate(x, y)
        single_us = (time.perf_counter() - t) / sample * 1e6
        single_cpu_us = (time.process_time() - c) / sample * 1e6
        lines.append(
            f"| locator single point, public `locate(lon, lat)` ({sample:,} calls) | **{single_us:.1f} µs/point** wall, "
            f"{single_cpu_us:.1f} µs CPU | — | ≤ 20 µs |"
        )
        t = time.perf_counter()
        for x, y in pts[:5000]:
            locator.locate(x, y, crs="gcj02")
        gcj_us = (time.perf_counter() - t) / 5000 * 1e6
        lines.append(
            f'| locator single point from GCJ-02 (`locate(..., crs="gcj02")`, 5,000 calls) | {gcj_us:.1f} µs/point | — | — |'
        )
    finally:
        locator.CHECK_INTERVAL_S = old_interval
        locator.invalidate()

    # Baseline: per point, loop over prepared polygons until one contains it (sample, extrapolated).
    prepared = list(geoms)
    shapely.prepare(np.array(prepared, dtype=object))
    sample = 2000
    c = time.process_time()
    t = time.perf_counter()
    agree = 0
    for k in range(sample):
        p = shapely.Point(lons[k], lats[k])
        found = -1
        for i, g in enumerate(prepared):
            if g.intersects(p):
                found = i
                break
        agree += found == result[k]
    base_us = (time.perf_counter() - t) / sample * 1e6
    base_cpu_us = (time.process_time() - c) / sample * 1e6
    base_rate = 1e6 / base_us
    lines.append(
        f"| baseline: per-point loop over prepared polygons ({sample:,}-point sample, extrapolated; agrees on {agree}/{sample}) "
        f"| {base_us:,.0f} µs/point wall ({base_cpu_us:,.0f} µs CPU) = {base_rate:,.0f} points/s | — | batch is **{batch_rate / base_rate:,.0f}×** faster, single {base_us / single_us:,.0f}× |"
    )


def bench_db(lines: list[str]):
    """Build the `city` through the real actions into a scratch SQLite DB and time check_region."""
    import subprocess

    db = Path("/tmp/urbangrid_bench_geo.sqlite3")
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{db}")
    code = f"""
import time, resource, django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "urbangrid.settings"); django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from urbangrid.demo.geo import build_demo_geography
from urbangrid.geo.coverage import check_region
t = time.perf_counter(); geo = build_demo_geography({SEED}, "city"); build = time.perf_counter() - t
check_region(geo.district, supervisors=False)
times = []
for _ in range(3):
    t = time.perf_counter(); report = check_region(geo.district); times.append(time.perf_counter() - t)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{{build:.2f}} {{geo.grids}} {{sorted(times)[1]:.3f}} {{len(report.area_findings)}} {{len(report.findings)}} {{rss:.0f}}")
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    build, grids, cov, area_findings, findings, rss = out.stdout.strip().splitlines()[-1].split()
    lines.append(
        f'| `build_demo_geography(seed, "city")` through the real import + `do_divide_grids` into SQLite ({int(grids):,} grids) '
        f"| {float(build):.1f} s | {rss} MiB max RSS | — |"
    )
    lines.append(
        f"| `check_region(district)` from the database (load WKB + proof + supervisor query; median of 3; "
        f"{area_findings} area findings, {int(findings) - int(area_findings)} unstaffed grids) | {float(cov):.3f} s | — | < 2 s |"
    )
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--db", action="store_true", help="also build the city in a scratch SQLite database")
    parser.add_argument("--markdown", help="write the results table to this file (RESULTS.md)")
    args = parser.parse_args()

    load_start = os.getloadavg()[0]
    lines = ["| measurement | figure | peak memory | target / ratio |", "|---|---|---|---|"]
    layout, geoms, codes = bench_division(lines)
    print("\n".join(lines), flush=True)
    bench_coverage(lines, layout, geoms, codes)
    bench_locator(lines, geoms, codes, args.points)
    if args.db:
        bench_db(lines)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    header = [
        "# Geo benchmark results",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        f"- Load average at the start: {load_start:.1f}",
        f"- Command: `.venv/bin/python bench/geo/bench_geo.py --points {args.points}{' --db' if args.db else ''}`",
        f"- Load average at the end (2 cores shared with other engineers' test runs): "
        f"{' / '.join(f'{v:.1f}' for v in os.getloadavg())} — absolute times are inflated accordingly; the "
        "ratios to the baselines measured in the same run are the stable figures.",
        f"- Process max RSS: {rss:.0f} MiB. Peak memory per row is Python-traced (tracemalloc), GEOS's own",
        "  allocations are not traced by it; the max RSS covers everything.",
        "",
    ]
    text = "\n".join(header + lines) + "\n"
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
