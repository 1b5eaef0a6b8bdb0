"""Closed-loop HTTP load generator for intake (127.0.0.1 only, bounded in time).

N client threads, each with its own keep-alive connection, POST /api/v1/cases/intake as a grid
worker's device (bearer token) with a random point inside a random current grid, a class code or
free text (so classification runs), and a unique request id. Before the intake phase, the same
clients run a BASELINE phase against GET /api/v1/cases/inbox?limit=1 (same stack: gunicorn, Django,
ninja, token auth, two small queries) so the intake figures can be read as a ratio.

Usage (DATABASE_URL set, server running): python bench/cases/intake_load.py --port 18931 --clients 50 --seconds 30
Prints one JSON line per phase: requests, errors, rate (req/s), p50/p95/p99 (ms).

With --wrk the same two phases run through wrk (Debian package `wrk`; C, event loop, 2 threads)
instead of Python threads: on a 2-core machine the Python client itself takes a large share of
the CPU the server needs, wrk a small one. Bodies are built in Lua from points prepared here per
phase (20,000, or 1,200 a second of the phase if more), each with a unique request id. With --wrk
--rate R the clients are paced instead: each waits an exponential think time before every request
so that together they offer R reports a second (devices reporting independently); the figures are
the achieved rate and the latencies.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid


def setup_django():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "urbangrid.settings")
    import django

    django.setup()


def prepare():
    """A token for a grid worker, the current grids' bboxes and some class codes."""
    from urbangrid.catalog.models import ProblemClass
    from urbangrid.geo.models import UnitGrid
    from urbangrid.orgs.auth import hash_token, new_token_key
    from urbangrid.orgs.models import ApiToken, Person

    worker = Person.objects.filter(roles__role="grid_worker").order_by("id").first()
    key = new_token_key()
    ApiToken.objects.create(person=worker, name="bench", prefix=key[:8], key_hash=hash_token(key))
    grids = list(
        UnitGrid.objects.current().values_list("min_lon", "min_lat", "max_lon", "max_lat", "geometry_wkb")
    )
    import shapely

    shapes = [(g[:4], shapely.from_wkb(bytes(g[4]))) for g in grids if g[4]]
    classes = list(
        ProblemClass.objects.filter(is_active=True, code_set__is_default=True, kind="event").values_list(
            "code", "name"
        )
    )
    return key, shapes, classes


def point_in(rng, shapes):
    import shapely

    (x0, y0, x1, y1), geom = rng.choice(shapes)
    for _ in range(20):
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if geom.contains(shapely.Point(x, y)):
            return x, y
    c = geom.representative_point()
    return c.x, c.y


def run_phase(port, clients, seconds, make_request, label, interval=None):
    """Closed loop by default (each client sends again as soon as answered). With ``interval``
    (seconds) each client sends on a fixed schedule instead (open loop, staggered between
    clients) and latency counts from the scheduled moment, so a slow server cannot hide its
    queue by delaying the next request (no coordinated omission)."""
    lat_ms: list[float] = []
    errors = [0]
    codes: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    start_barrier = threading.Barrier(clients)

    def client(i):
        rng = random.Random(i * 7919 + hash(label) % 1000)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local, local_codes, errs = [], {}, 0
        start_barrier.wait()
        due = time.perf_counter() + (interval * i / clients if interval else 0)
        while time.monotonic() < stop_at:
            method, path, body, headers = make_request(rng)
            if interval:
                time.sleep(max(0.0, due - time.perf_counter()))
                t0, due = due, due + interval
            else:
                t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                errs += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            local.append((time.perf_counter() - t0) * 1000)
            local_codes[status] = local_codes.get(status, 0) + 1
            if status >= 400:
                errs += 1
        conn.close()
        with lock:
            lat_ms.extend(local)
            errors[0] += errs
            for k, v in local_codes.items():
                codes[k] = codes.get(k, 0) + v

    t_start = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t_start
    lat_ms.sort()

    def pct(p):
        return round(lat_ms[min(len(lat_ms) - 1, int(p * len(lat_ms)))], 1) if lat_ms else None

    return {
        "phase": label,
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(lat_ms),
        "errors": errors[0],
        "status": codes,
        "rate": round(len(lat_ms) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
    }


WRK_SCRIPT = r"""
-- The phase's data as text (a Lua table literal of 100,000+ points is past Lua's constant limit):
-- the token, the share of reports sent without a class, then "lon TAB lat TAB code TAB name".
local function load(path)
  local line = io.lines(path)
  local d = {token = line(), text_fraction = tonumber(line()), points = {}}
  for row in line do
    local lon, lat, code, name = row:match("^([^\t]+)\t([^\t]+)\t([^\t]*)\t(.*)$")
    d.points[#d.points + 1] = {tonumber(lon), tonumber(lat), code, name}
  end
  return d
end
local data = load(os.getenv("UG_WRK_DATA"))
local token, mode, text_fraction = data.token, os.getenv("UG_WRK_MODE"), data.text_fraction
-- A salt per run (from Python) and a number per thread: request ids never repeat an earlier run's
-- (a repeated id is a replay, not an intake).
local salt, n, i = os.getenv("UG_WRK_SALT"), 0, 0
local threads = 0
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
function setup(thread) threads = threads + 1; thread:set("tid", tostring(threads)) end
local batch = tonumber(os.getenv("UG_WRK_BATCH") or "0")
-- Paced clients (--rate): each connection waits an exponential think time (mean UG_WRK_THINK_MS)
-- before each request, as devices reporting independently do; wrk's latencies exclude it.
local think = tonumber(os.getenv("UG_WRK_THINK_MS") or "0")
if think > 0 then
  function delay() return math.floor(-think * math.log(1 - math.random())) end
end
local function report()
  if n == 0 then
    -- wrk runs two threads: each walks its own half of the phase's points (overlapping walks
    -- sent the same points twice, and the second became duplicates of the first).
    math.randomseed(tonumber(string.sub(salt, 1, 7), 16) + 7919 * tonumber(tid or "0"))
    i = (tonumber(tid or "1") - 1) * math.floor(#data.points / 2)
  end
  n = n + 1
  i = (i % #data.points) + 1
  local p = data.points[i]
  local class = ""
  if math.random() >= text_fraction then class = string.format(',"class_code":"%s"', p[3]) end
  return string.format(
    '{"channel":"grid_worker","lon":%.7f,"lat":%.7f,"request_id":"%s-%s-%d","description":"巡查发现%s"%s}',
    p[1], p[2], salt, tid or "0", n, p[4], class)
end
function request()
  if mode == "baseline" then return wrk.format("GET", "/api/v1/cases/inbox?limit=1") end
  if batch > 0 then
    local items = {}
    for k = 1, batch do items[k] = report() end
    return wrk.format("POST", "/api/v1/cases/intake/batch", nil, "[" .. table.concat(items, ",") .. "]")
  end
  return wrk.format("POST", "/api/v1/cases/intake", nil, report())
end
function done(summary, latency, requests)
  local s = summary
  io.write(string.format(
    '{"requests":%d,"duration_s":%.2f,"errors_status":%d,"errors_other":%d,"p50_ms":%.1f,"p95_ms":%.1f,"p99_ms":%.1f}\n',
    s.requests, s.duration / 1e6, s.errors.status, s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def stored_counts() -> tuple[int, int]:
    from urbangrid.cases.models import Case, Report

    return Case.objects.count(), Report.objects.count()


def run_wrk(port, clients, seconds, data, mode, label, batch=0, offered=0):
    """One phase through wrk; its done() hook prints the figures as JSON, with how many reports
    opened a case and how many were linked to one as duplicates (counted in the database).
    ``data``: (token, shapes, classes, text fraction); every phase draws points of its own (points
    repeated from an earlier phase would mostly be duplicates of its cases). With ``rate`` the
    clients are paced to offer ``offered`` reports a second in all."""
    # Enough points that no phase sends one twice (up to 1,200 reports a second): a repeated point
    # is a duplicate of the case its first report opened.
    data_path = write_wrk_data(*data, n=max(20_000, int(seconds * 1_200)))
    cases0, reports0 = stored_counts()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT)
    env = {
        **os.environ,
        "UG_WRK_DATA": data_path,
        "UG_WRK_MODE": mode,
        "UG_WRK_BATCH": str(batch),
        "UG_WRK_SALT": uuid.uuid4().hex,
        "UG_WRK_THINK_MS": str(clients * max(batch, 1) / offered * 1000 if offered else 0),
    }
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{clients}",
            f"-d{int(seconds)}s",
            "--timeout",
            "10s",
            "-s",
            f.name,
            f"http://127.0.0.1:{port}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(f.name)
    os.unlink(data_path)
    figures = json.loads(out.strip().splitlines()[-1])
    rate = figures["requests"] / figures["duration_s"]
    cases1, reports1 = stored_counts()
    out = {"phase": label, "tool": "wrk", "clients": clients, **figures, "rate": round(rate, 1)}
    if mode != "baseline":
        out.update(new_cases=cases1 - cases0, linked_reports=(reports1 - reports0) - (cases1 - cases0))
    if batch:
        out.update(batch=batch, cases_per_s=round(rate * batch, 1))
    return out


def write_wrk_data(key, shapes, classes, text_fraction, n=20_000) -> str:
    """The phase's points for WRK_SCRIPT's ``load``; a fresh seed per phase."""
    rng = random.Random()
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False, encoding="utf-8") as f:
        f.write(f"{key}\n{text_fraction}\n")
        for _ in range(n):
            lon, lat = point_in(rng, shapes)
            code, name = rng.choice(classes)
            f.write(f"{lon:.7f}\t{lat:.7f}\t{code}\t{name}\n")
    return f.name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=18931)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--baseline-seconds", type=float, default=15)
    ap.add_argument(
        "--text-fraction", type=float, default=0.2, help="reports without class code (classified)"
    )
    ap.add_argument("--wrk", action="store_true", help="drive the load with wrk instead of Python")
    ap.add_argument("--batch", type=int, default=0, help="with --wrk: also a phase of N reports per request")
    ap.add_argument(
        "--rate",
        type=float,
        default=0,
        help="paced clients: this many reports a second in all, sent in requests of --batch reports "
        "(1 = single); with --wrk, one paced phase instead of the closed-loop phases",
    )
    args = ap.parse_args()
    setup_django()
    key, shapes, classes = prepare()
    auth = {"Authorization": f"Bearer {key}"}
    if args.wrk:
        data = (key, shapes, classes, args.text_fraction)
        # Warm every worker first (locator index, classifier, calendar, connections): not measured.
        for mode in ("baseline", "intake"):
            run_wrk(args.port, args.clients, 5, data, mode, "warm-up")
        if args.rate:
            batch = args.batch if args.batch > 1 else 0
            label = "intake_paced" if not batch else "intake_batch_paced"
            phase = run_wrk(args.port, args.clients, args.seconds, data, "intake", label, batch, args.rate)
            phase.update(
                target_reports_per_s=args.rate, reports_per_s=round(phase["rate"] * max(batch, 1), 1)
            )
            print(json.dumps(phase), flush=True)
            return
        for mode, secs, label in (
            ("baseline", args.baseline_seconds, "baseline_inbox"),
            ("intake", args.seconds, "intake"),
        ):
            print(json.dumps(run_wrk(args.port, args.clients, secs, data, mode, label)), flush=True)
        if args.batch:
            phase = run_wrk(args.port, args.clients, args.seconds, data, "intake", "intake_batch", args.batch)
            print(json.dumps(phase), flush=True)
        return

    def baseline(rng):
        return "GET", "/api/v1/cases/inbox?limit=1", None, auth

    def report(rng):
        lon, lat = point_in(rng, shapes)
        code, name = rng.choice(classes)
        body = {
            "channel": "grid_worker",
            "lon": lon,
            "lat": lat,
            "request_id": uuid.uuid4().hex,
            "description": f"巡查发现{name}",
        }
        if rng.random() >= args.text_fraction:
            body["class_code"] = code
        return body

    def intake(rng):
        batch = max(args.batch, 1) if args.rate else 1
        body = report(rng) if batch == 1 else [report(rng) for _ in range(batch)]
        path = "/api/v1/cases/intake" if batch == 1 else "/api/v1/cases/intake/batch"
        return (
            "POST",
            path,
            json.dumps(body, ensure_ascii=False).encode(),
            {**auth, "Content-Type": "application/json"},
        )

    if args.rate:
        batch = max(args.batch, 1)
        interval = args.clients * batch / args.rate
        # Bodies made before the clock starts, from a fresh seed: the client's own CPU stays low and
        # no point repeats an earlier run's (those would all be duplicates).
        seed = random.Random()
        ready = [intake(seed) for _ in range(int(args.rate / batch * args.seconds * 1.2) + args.clients)]
        out = run_phase(
            args.port,
            args.clients,
            args.seconds,
            lambda _rng: ready.pop(),
            "intake_open_loop",
            interval=interval,
        )
        out.update(batch=batch, target_reports_per_s=args.rate, reports_per_s=round(out["rate"] * batch, 1))
        print(json.dumps(out), flush=True)
        return

    print(
        json.dumps(run_phase(args.port, args.clients, args.baseline_seconds, baseline, "baseline_inbox")),
        flush=True,
    )
    print(json.dumps(run_phase(args.port, args.clients, args.seconds, intake, "intake")), flush=True)


if __name__ == "__main__":
    main()
