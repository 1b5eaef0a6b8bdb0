"""CPU cost per request, in-process, through the whole Django stack (middleware, ninja, token auth),
for intake and for the baseline (inbox). process_time() counts only this process's CPU, so the
figure holds even when the shared machine is overloaded. On a local PostgreSQL the backend's CPU is
read from /proc as well (db_cpu_ms). Capacity estimate on an idle 2-core box = 2 cores / (app CPU + DB CPU).

Usage: DATABASE_URL=... python bench/cases/cpu_cost.py [N=300]
"""

import json
import os
import random
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "urbangrid.settings")
import django  # noqa: E402

django.setup()
from django.test import Client  # noqa: E402
from intake_load import point_in, prepare  # noqa: E402

BATCH = 10


def backend_cpu_s() -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend (local server), else None."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    key, shapes, classes = prepare()
    c = Client()
    h = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    # Fresh points every run: points of an earlier run would all be duplicates of its cases.
    rng = random.Random()
    created = []

    def inbox():
        r = c.get("/api/v1/cases/inbox?limit=1", **h)
        assert r.status_code == 200, r.content

    def body():
        lon, lat = point_in(rng, shapes)
        code, name = rng.choice(classes)
        out = {
            "channel": "grid_worker",
            "lon": lon,
            "lat": lat,
            "request_id": uuid.uuid4().hex,
            "description": f"巡查发现{name}",
        }
        if rng.random() >= 0.2:
            out["class_code"] = code
        return out

    def intake():
        r = c.post("/api/v1/cases/intake", json.dumps(body()), content_type="application/json", **h)
        assert r.status_code in (200, 201), r.content
        created.append(r.status_code == 201)

    def batch():  # figures per report: the request's cost divided by BATCH
        items = [body() for _ in range(BATCH)]
        r = c.post("/api/v1/cases/intake/batch", json.dumps(items), content_type="application/json", **h)
        assert r.status_code == 200 and all(i["ok"] for i in r.json()), r.content
        created.extend(i["result"]["created"] for i in r.json())

    phases = (
        ("baseline_inbox", inbox, n),
        ("intake", intake, n),
        (f"intake_batch{BATCH}", batch, n // BATCH),
    )
    for label, fn, n in phases:
        for _ in range(10):  # warm-up (locator index, classifier, calendar caches)
            fn()
        db0, cpu0, wall0 = backend_cpu_s(), time.process_time(), time.perf_counter()
        for _ in range(n):
            fn()
        per = n * (BATCH if fn is batch else 1)  # reports (or inbox reads) done
        cpu = (time.process_time() - cpu0) / per * 1000
        wall = (time.perf_counter() - wall0) / per * 1000
        db1 = backend_cpu_s()
        out = {"cpu_cost": label, "n": per, "app_cpu_ms": round(cpu, 2), "wall_ms": round(wall, 2)}
        if fn is not inbox:
            out["new_cases"] = sum(created[-per:])
        if db0 is not None and db1 is not None:
            out["db_cpu_ms"] = round((db1 - db0) / per * 1000, 2)
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
