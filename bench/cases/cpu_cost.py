"""CPU cost per request, in-process, through the whole Django stack (middleware, ninja, token auth),
for intake and for the baseline (inbox). process_time() counts only this process's CPU, so the
figure holds even when the shared machine is overloaded; the database server's CPU is not counted
(its wall time is, separately). Capacity estimate on an idle 2-core box = 2 cores / (app CPU + DB CPU).

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


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    key, shapes, classes = prepare()
    c = Client()
    h = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    rng = random.Random(5)

    def inbox():
        r = c.get("/api/v1/cases/inbox?limit=1", **h)
        assert r.status_code == 200, r.content

    def intake():
        lon, lat = point_in(rng, shapes)
        code, name = rng.choice(classes)
        body = {
            "channel": "grid_worker",
            "lon": lon,
            "lat": lat,
            "request_id": uuid.uuid4().hex,
            "description": f"巡查发现{name}",
        }
        if rng.random() >= 0.2:
            body["class_code"] = code
        r = c.post("/api/v1/cases/intake", json.dumps(body), content_type="application/json", **h)
        assert r.status_code in (200, 201), r.content

    for label, fn in (("baseline_inbox", inbox), ("intake", intake)):
        for _ in range(10):  # warm-up (locator index, classifier, calendar caches)
            fn()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            fn()
        cpu = (time.process_time() - cpu0) / n * 1000
        wall = (time.perf_counter() - wall0) / n * 1000
        print(
            json.dumps({"cpu_cost": label, "n": n, "app_cpu_ms": round(cpu, 2), "wall_ms": round(wall, 2)}),
            flush=True,
        )


if __name__ == "__main__":
    main()
