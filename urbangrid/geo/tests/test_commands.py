"""Management commands: output and exit codes (0 ok, 1 findings, 2 bad input)."""

from __future__ import annotations

import io
import json

import pytest
import shapely
from django.core.management import call_command
from django.core.management.base import CommandError

from urbangrid.geo.actions import do_change_grid_boundary
from urbangrid.geo.models import Region, UnitGrid

from .conftest import tiny_regions_fc

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def test_import_regions_and_grids_commands(db, tmp_path):
    path = tmp_path / "regions.geojson"
    path.write_text(json.dumps(tiny_regions_fc()), encoding="utf-8")
    code, out = run("import_regions", str(path), "--crs", "wgs84", "--dry-run")
    assert code == 0 and "[dry run]" in out and not Region.objects.filter(code="619803").exists()
    code, out = run("import_regions", str(path), "--crs", "wgs84")
    assert code == 0 and "7 created" in out
    code, out = run("import_regions", str(path), "--crs", "cgcs2000_gk", "--zone", "36")
    assert code == 2 and "619803" in out
    code, out = run("import_regions", str(tmp_path / "missing.json"), "--crs", "wgs84")
    assert code == 2

    code, out = run("divide_grids", "--region", "619803001", "--target-m2", "20000")
    assert code == 0 and "2 communities" in out
    export = tmp_path / "grids.geojson"
    code, out = run("export_grids", "--region", "619803001", "--crs", "gcj02", "--output", str(export))
    assert code == 0
    fc = json.loads(export.read_text(encoding="utf-8"))
    n = UnitGrid.objects.current().filter(street__code="619803001").count()
    assert len(fc["features"]) == n
    code, out = run("import_grids", str(export), "--crs", "gcj02", "--valid-from", "2099-01-01")
    assert code == 0 and f"{n} unchanged" in out
    shp = tmp_path / "grids.zip"
    code, out = run(
        "export_grids",
        "--region",
        "619803001",
        "--format",
        "shp",
        "--crs",
        "cgcs2000_gk",
        "--zone",
        "37",
        "--output",
        str(shp),
    )
    assert code == 0 and shp.read_bytes()[:2] == b"PK"
    code, out = run("import_grids", str(shp), "--crs", "cgcs2000_gk", "--zone", "37", "--dry-run")
    assert code == 0
    code, out = run("import_grids", str(export), "--crs", "wgs84", "--valid-from", "not-a-date")
    assert code == 2


def test_check_coverage_command(tiny):
    code, out = run("check_coverage", "--region", "619803", "--no-supervisors")
    assert code == 0
    assert out.strip().splitlines()[-1].startswith("0 gaps/overlaps, total 0.00 m²")
    grid = tiny.grids(tiny.communities[0])[0]
    do_change_grid_boundary(None, grid.code, shapely.affinity.scale(grid.geometry, 0.5, 0.5))
    code, out = run("check_coverage", "--region", "619803001001", "--no-supervisors")
    assert code == 1
    lines = out.strip().splitlines()
    assert any(("m²" in line or "平方米" in line) and "(" in line for line in lines[1:-1])
    assert lines[-1].startswith("1 gaps/overlaps")
    code, out = run("check_coverage", "--region", "619803001001")
    assert code == 1 and ("supervisor" in out.lower() or "监管员" in out)
    code, out = run("check_coverage", "--region", "000000")
    assert code == 2


def test_locate_command(tiny, tmp_path):
    grid = tiny.grids(tiny.communities[2])[1]
    p = grid.geometry.representative_point()
    code, out = run("locate", f"{p.x},{p.y}")
    assert code == 0 and grid.code in out and "北村" in out and "测试镇" in out and "测试区" in out
    csv = tmp_path / "points.csv"
    csv.write_text(f"lon,lat\n{p.x},{p.y}\n1.0,1.0\n", encoding="utf-8")
    code, out = run("locate", "--csv", str(csv))
    assert code == 1 and "outside" in out
    code, out = run("locate", "abc")
    assert code == 2
    code, out = run("locate", f"{p.x},{p.y}", "--crs", "mars")
    assert code == 2
