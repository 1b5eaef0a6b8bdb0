"""Command-map benchmark in headless Chromium against a running server with the `city` demo.

Measures, per run, from navigation start (performance.now()):
- first paint: regions (street outlines) drawn, and grids drawn when the view loads grids;
- all open cases shown: the case layer holds every open case of the viewport (as points or as
  server-side aggregated cells whose counts sum to the total).
Views: the whole city (initial view), and a street-level view (zoom 16, grids + single cases).
Baseline in the same run: a fresh Leaflet map in the same page that loads ALL current grids
unsimplified (geo API at zoom 17 over the city bbox) and the open cases as individual markers.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

BASELINE_JS = """
async ([bbox]) => {
  const t0 = performance.now();
  const host = document.createElement('div');
  host.style.cssText = 'position:fixed;inset:0;z-index:5000;background:#eef1f5';
  document.body.appendChild(host);
  const map = L.map(host, {preferCanvas: true, maxZoom: 19});
  map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]]);
  const gr = await fetch('/api/v1/geo/grids?bbox=' + bbox.join(',') + '&zoom=17', {credentials: 'same-origin'});
  const fc = await gr.json();
  L.geoJSON(fc, {style: {weight: 1}}).addTo(map);
  await new Promise(r => requestAnimationFrame(() => r()));
  const tGrids = performance.now() - t0;
  const cr = await fetch('/map/cases.json?bbox=' + bbox.join(',') + '&zoom=17', {credentials: 'same-origin'});
  const d = await cr.json();
  // The same server-side cells as the real map (the endpoint never sends 20,000 single points).
  (d.cells || []).forEach(c => L.marker([c[1], c[0]], {icon: L.divIcon({html: String(c[2])})}).addTo(map));
  await new Promise(r => requestAnimationFrame(() => r()));
  const tCases = performance.now() - t0;
  const bytes = JSON.stringify(fc).length;
  host.remove();
  return {grids: fc.features.length, grid_bytes: bytes, cases: (d.cells || []).reduce((s, c) => s + c[2], 0), total: d.total,
          t_grids: tGrids, t_cases: tCases};
}
"""


def run(base: str, username: str, password: str, runs: int = 3) -> dict:
    from playwright.sync_api import sync_playwright

    out = {"city": [], "street": [], "baseline": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page = ctx.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        for i in range(runs + 1):  # the first run warms caches and is not counted
            page.goto(base + "/map/")
            page.wait_for_function("window.UG_MAP && UG_MAP.firstCases && UG_MAP.firstRegions", timeout=60000)
            r = page.evaluate("""() => ({regions: UG_MAP.firstRegions, grids_at: UG_MAP.firstGrids || null,
                cases_at: UG_MAP.firstCases, total: UG_MAP.totalCases, shown: UG_MAP.casesShown, mode: UG_MAP.mode,
                nav: performance.getEntriesByType('navigation')[0].responseEnd})""")
            r["first_paint"] = max(r["regions"], r["grids_at"] or 0)
            r["all_cases"] = r["cases_at"]
            if i:
                out["city"].append(r)
            # Street level: zoom in around the centre to 14 and wait for grids + cases of that view.
            page.evaluate("UG_MAP.firstGrids = null; UG_MAP.firstCases = null;")
            page.evaluate("window.__t0 = performance.now(); window.__loads = UG_MAP.loads;")
            page.evaluate("UG_MAP_API.setZoom(16)")
            page.wait_for_function("UG_MAP.loads > window.__loads && UG_MAP.firstGrids", timeout=60000)
            s = page.evaluate("""() => ({grids: UG_MAP.gridsPainted, total: UG_MAP.totalCases, shown: UG_MAP.casesShown,
                mode: UG_MAP.mode, t_grids: UG_MAP.firstGrids - window.__t0, t_cases: UG_MAP.firstCases - window.__t0})""")
            if i:
                out["street"].append(s)
                bbox = page.evaluate("JSON.parse(document.getElementById('home-bbox').textContent)")
                out["baseline"].append(page.evaluate(BASELINE_JS, [bbox]))
        out["errors"] = errors
        browser.close()
    return out


def median(rows, key):
    vals = [r[key] for r in rows if r.get(key) is not None]
    return round(statistics.median(vals), 1) if vals else None


if __name__ == "__main__":
    base, user, pw = sys.argv[1], sys.argv[2], sys.argv[3]
    t = time.time()
    res = run(base, user, pw, runs=int(os.environ.get("RUNS", "3")))
    summary = {
        "city_first_paint_ms": median(res["city"], "first_paint"),
        "city_all_cases_ms": median(res["city"], "all_cases"),
        "city_total_cases": res["city"][0]["total"],
        "city_mode": res["city"][0]["mode"],
        "street_grids_ms": median(res["street"], "t_grids"),
        "street_cases_ms": median(res["street"], "t_cases"),
        "street_grids": res["street"][0]["grids"],
        "street_cases": res["street"][0]["total"],
        "baseline_grids_ms": median(res["baseline"], "t_grids"),
        "baseline_cases_ms": median(res["baseline"], "t_cases"),
        "baseline_grids": res["baseline"][0]["grids"],
        "baseline_grid_bytes": res["baseline"][0]["grid_bytes"],
        "baseline_cases": res["baseline"][0]["cases"],
        "errors": res["errors"],
        "seconds": round(time.time() - t, 1),
    }
    print(json.dumps({"summary": summary, "runs": res}, ensure_ascii=False, indent=1))
