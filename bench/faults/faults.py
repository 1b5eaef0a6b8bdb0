"""Database faults under load: `manage.py serve` on PostgreSQL while a stream of web requests runs.

1. N times, every backend of the database is terminated (pg_terminate_backend), each time
   followed by 5 requests one after the other: a 5xx here is a stale pooled connection.
2. The same N terminations, one second apart, during a stream of concurrent requests: count the
   answers that are 5xx or refused (requests in flight at the instant lose their query).
3. An outage: the database refuses connections for a few seconds (ALLOW_CONNECTIONS false and
   every backend terminated), then comes back: how long until the task worker runs a task again
   and the scheduler enqueues one again, and whether serve had to restart anything.

Usage (the database is created, migrated and given the small demo city if it is empty):
    .venv/bin/python bench/faults/faults.py --database-url postgres://postgres@127.0.0.1:5432/ug_bench
    --project DIR runs another checkout's code (e.g. `git archive main`) against the same database.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

PATHS = ["/open311/v2/services.json", "/public/"]


def admin(url: str):
    """Autocommit connection to the maintenance database of the server in ``url``."""
    return psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True)


def terminate(url: str, dbname: str) -> int:
    with admin(url) as conn:
        return conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s", [dbname]
        ).fetchone()[0]


def get(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0  # refused or reset


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--project", default=str(Path(__file__).resolve().parents[2]))
    ap.add_argument("--port", type=int, default=8110)
    ap.add_argument("--terminations", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--outage", type=float, default=5.0, help="seconds without connections")
    args = ap.parse_args()
    url, project = args.database_url, Path(args.project)
    dbname = urlsplit(url).path.lstrip("/")
    with admin(url) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone():
            conn.execute(f'CREATE DATABASE "{dbname}"')
    env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    manage = [sys.executable, str(project / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], cwd=project, env=env, check=True)
    subprocess.run(
        [*manage, "build_demo_city", "--if-empty", "--scale", "small", "--history-days", "0"],
        cwd=project,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )

    tmp = Path(tempfile.mkdtemp(prefix="faults-"))
    log_path = tmp / "serve.log"
    env |= {"URBANGRID_VAR_DIR": str(tmp / "var"), "URBANGRID_PERIODIC_MAX_INTERVAL": "1"}
    with open(log_path, "wb") as out:
        serve = subprocess.Popen(
            [*manage, "serve", "--port", str(args.port)],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    result: dict = {"project": str(project), "terminations": args.terminations}
    try:
        deadline = time.monotonic() + 120
        while get(args.port, PATHS[0]) != 200:
            if time.monotonic() > deadline or serve.poll() is not None:
                sys.exit(f"serve did not come up:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        time.sleep(3)  # the worker and the scheduler connect

        # 1. terminations, then requests one after the other
        sequential = [
            code
            for _ in range(args.terminations)
            for code in (terminate(url, dbname), *(get(args.port, PATHS[0]) for _ in range(5)))[1:]
        ]
        result |= {
            "sequential_requests": len(sequential),
            "sequential_5xx": sum(code >= 500 for code in sequential),
            "sequential_refused": sequential.count(0),
        }

        # 2. terminations during a stream of requests
        answers: Counter = Counter()
        stop = threading.Event()

        def stream(i: int) -> None:
            n = i
            while not stop.is_set():
                answers[get(args.port, PATHS[n % len(PATHS)])] += 1
                n += 1

        threads = [threading.Thread(target=stream, args=(i,)) for i in range(args.concurrency)]
        for t in threads:
            t.start()
        time.sleep(2)
        killed = 0
        for _ in range(args.terminations):
            killed += terminate(url, dbname)
            time.sleep(1)
        time.sleep(2)
        stop.set()
        for t in threads:
            t.join()
        result |= {
            "backends_terminated": killed,
            "requests": sum(answers.values()),
            "http_5xx": sum(n for code, n in answers.items() if code >= 500),
            "refused": answers[0],
            "serve_alive_after_terminations": serve.poll() is None,
        }

        # 3. an outage, then how long until background work carries on
        with admin(url) as conn:
            conn.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
            try:
                terminate(url, dbname)
                time.sleep(args.outage)
            finally:
                conn.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
        restored = datetime.now(UTC)
        worker = scheduler = None
        deadline = time.monotonic() + 60
        with psycopg.connect(url, autocommit=True) as conn:
            while (worker is None or scheduler is None) and time.monotonic() < deadline:
                w, s = conn.execute(
                    "SELECT min(started_at) FILTER (WHERE started_at > %s), min(enqueued_at) FILTER"
                    " (WHERE enqueued_at > %s) FROM django_tasks_database_dbtaskresult",
                    [restored, restored],
                ).fetchone()
                worker = worker or (w and (w - restored).total_seconds())
                scheduler = scheduler or (s and (s - restored).total_seconds())
                time.sleep(0.2)
        log = log_path.read_text(errors="replace")
        result |= {
            "outage_s": args.outage,
            "worker_runs_again_after_s": worker and round(worker, 1),
            "scheduler_enqueues_again_after_s": scheduler and round(scheduler, 1),
            "children_restarted_by_serve": len(re.findall(r"exited with code", log)),
            "serve_alive_at_end": serve.poll() is None,
            "site_answers_at_end": get(args.port, PATHS[0]),
        }
    finally:
        if serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
