"""Benchmark: the full monthly evaluation (every indicator, every subject kind) over 1,000,000
cases, on the database named by DATABASE_URL, plus the same SQL run by DuckDB over a Parquet
export of the same rows as a reference.

    DATABASE_URL=sqlite:///var/bench_eval.sqlite3 python bench/evaluation/bench_eval.py --cases 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ug_bench_eval python bench/evaluation/bench_eval.py --duckdb

The cases app's bulk generator (urbangrid/cases/bulkgen.py) had not landed when this was written,
so the rows are generated here with numpy (same column profile: channels, stage times and
deadlines, counters, states) and written with one multi-row INSERT per batch (SQLite) or COPY
(PostgreSQL) — Django's bulk_create over 1 M model instances would only measure Python.
Every other column takes the model field's default, so new Case columns do not break it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "urbangrid.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 11, 1, tzinfo=TZ).timestamp()
DAYS = 365
DATA_NOW = datetime(2026, 11, 5, 12, tzinfo=TZ).timestamp()  # "now" of the generated data
PERIOD = "2026-10"
MIN = 60.0
HOUR = 3600.0
DAY = 86400.0


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------- reference rows
def build_reference(n_grids=2000, seed=1):
    from urbangrid.geo.models import Region
    from urbangrid.orgs.models import GridAssignment, Person, RoleAssignment, Unit

    rng = np.random.default_rng(seed)
    district = Region.objects.create(code="619902", name="基准区", kind="district")
    streets, communities = [], []
    for s in range(8):
        st = Region.objects.create(
            code=f"619902{s + 1:03d}",
            name=f"基准街道{s + 1}",
            kind="street" if s < 4 else "town",
            parent=district,
        )
        streets.append(st)
        for c in range(10):
            communities.append(
                Region.objects.create(
                    code=f"{st.code}{c + 1:03d}", name=f"{st.name}社区{c + 1}", kind="community", parent=st
                )
            )
    grid_codes = [f"{communities[g // 25].code}{g % 25 + 1:03d}" for g in range(n_grids)]
    grid_comm = np.array([communities[g // 25].id for g in range(n_grids)])
    grid_street = np.array([communities[g // 25].parent_id for g in range(n_grids)])
    offices = [
        Unit.objects.create(
            code=f"B-S{i}", name=f"{st.name}办事处", kind="street_office", level="street", region=st
        )
        for i, st in enumerate(streets)
    ]
    depts = [
        Unit.objects.create(code=f"B-D{i}", name=f"专业部门{i + 1}", kind="department", level="city")
        for i in range(22)
    ]
    centre = Unit.objects.create(
        code="B-C", name="基准监督指挥中心", kind="center", level="district", region=district
    )
    User = get_user_model()

    def people(prefix, count, unit_for, role, region_for):
        users = User.objects.bulk_create(User(username=f"{prefix}{i}", password="!") for i in range(count))
        ps = Person.objects.bulk_create(
            Person(user=u, name=f"{prefix}{i}", unit=unit_for(i)) for i, u in enumerate(users)
        )
        RoleAssignment.objects.bulk_create(
            RoleAssignment(person=p, role=role, region=region_for(i)) for i, p in enumerate(ps)
        )
        return np.array([p.id for p in ps])

    workers = people("bgw", 300, lambda i: offices[i % 8], "grid_worker", lambda i: streets[i % 8])
    # Each grid's worker lives in the grid's street.
    grid_worker = np.array(
        [
            workers[(g // 250) % 8 + 8 * (g % 37)]
            if (g // 250) % 8 + 8 * (g % 37) < 300
            else workers[(g // 250) % 8]
            for g in range(n_grids)
        ]
    )
    GridAssignment.objects.bulk_create(
        GridAssignment(
            grid_code=code, person_id=int(grid_worker[g]), duty="supervisor", valid_from="2025-01-01"
        )
        for g, code in enumerate(grid_codes)
    )
    ops = people("bop", 10, lambda i: centre, "intake_operator", lambda i: district)
    sls = people("bsl", 6, lambda i: centre, "shift_leader", lambda i: district)
    dps = people("bdp", 10, lambda i: centre, "dispatcher", lambda i: district)
    return dict(
        district=district.id,
        grid_codes=np.array(grid_codes),
        grid_comm=grid_comm,
        grid_street=grid_street,
        offices=np.array([u.id for u in offices]),
        depts=np.array([u.id for u in depts]),
        grid_worker=grid_worker,
        ops=ops,
        sls=sls,
        dps=dps,
        rng=rng,
    )


# --------------------------------------------------------------------------- the cases
def gen_cases(n, ref):
    rng = ref["rng"]
    G = len(ref["grid_codes"])
    rep = np.sort(START + rng.uniform(0, DAYS * DAY, n))
    grid = rng.integers(0, G, n)
    channels = np.array(
        ["grid_worker", "citizen_web", "hotline", "messaging", "open311", "machine", "inspection"]
    )
    ch = rng.choice(len(channels), n, p=[0.55, 0.12, 0.15, 0.05, 0.02, 0.06, 0.05])
    needs_verify = (ch >= 1) & (ch <= 5)
    worker = ref["grid_worker"][grid]
    nan = np.full(n, np.nan)

    verify_due = np.where(needs_verify, rep + 30 * MIN, nan)
    verified = np.where(needs_verify, rep + rng.uniform(5, 45, n) * MIN, nan)
    base = np.where(needs_verify, verified, rep)
    rejected = rng.random(n) < 0.03
    register_due = base + HOUR
    registered = np.where(rejected, nan, base + rng.uniform(5, 80, n) * MIN)
    dispatch_due = registered + HOUR
    dispatched = registered + rng.uniform(5, 80, n) * MIN
    limit = rng.choice([0.25, 1, 1, 2, 3, 4, 15], n) * DAY
    postponed = rng.random(n) < 0.04
    handle_due = dispatched + limit + np.where(postponed, 2 * DAY, 0)
    rework = np.where(rng.random(n) < 0.05, rng.choice([1, 1, 1, 2], n), 0)
    handled = dispatched + limit * rng.uniform(0.1, 1.25, n) + rework * 0.5 * DAY
    check_due = handled + 30 * MIN
    checked = handled + rng.uniform(5, 50, n) * MIN
    closed = checked + rng.uniform(10, 300, n) * MIN
    cancelled = (~rejected) & (rng.random(n) < 0.02)
    shelved = (~rejected) & (~cancelled) & (rng.random(n) < 0.01)

    # Cut every stage time at the data's "now": what has not happened yet is open.
    def cut(a):
        return np.where(a <= DATA_NOW, a, np.nan)

    verified, registered, dispatched, handled, checked, closed = (
        cut(a) for a in (verified, registered, dispatched, handled, checked, closed)
    )
    registered = np.where(np.isnan(verified) & needs_verify, np.nan, registered)
    dispatched = np.where(np.isnan(registered), np.nan, dispatched)
    handled = np.where(np.isnan(dispatched) | shelved | cancelled, np.nan, handled)
    checked = np.where(np.isnan(handled), np.nan, checked)
    closed = np.where(np.isnan(checked), np.nan, closed)
    # Deadlines exist only once the step was reached.
    register_due = np.where(needs_verify & np.isnan(verified), np.nan, register_due)
    dispatch_due = np.where(np.isnan(registered), np.nan, dispatch_due)
    handle_due = np.where(np.isnan(dispatched), np.nan, handle_due)
    check_due = np.where(np.isnan(handled), np.nan, check_due)

    state = np.full(n, "closed", dtype=object)
    state[np.isnan(closed)] = "pending_close"
    state[np.isnan(checked)] = "pending_check"
    state[np.isnan(handled)] = "handling"
    state[np.isnan(dispatched)] = "pending_dispatch"
    state[np.isnan(registered)] = "pending_register"
    state[needs_verify & np.isnan(verified)] = "verifying"
    state[shelved & ~np.isnan(dispatched)] = "shelved"
    state[cancelled & ~np.isnan(registered)] = "cancelled"
    state[rejected] = "rejected"
    dispatched = np.where(rejected, np.nan, dispatched)
    unit = np.where(
        rng.random(n) < 0.6,
        ref["offices"][(ref["grid_street"][grid] - ref["grid_street"].min()) % 8],
        rng.choice(ref["depts"], n),
    )
    unit = np.where(np.isnan(dispatched), -1, unit)
    is_public = (ch >= 1) & (ch <= 4)
    sat = np.where(is_public & ~np.isnan(closed), rng.integers(1, 6, n), -1)
    cols = {
        "id": np.arange(1, n + 1),
        "city_code": None,
        "version": None,
        "number": [f"B{i:09d}" for i in range(1, n + 1)],
        "public_token": [f"bt{i:09d}" for i in range(1, n + 1)],
        "state": state,
        "channel": channels[ch],
        "grid_code": ref["grid_codes"][grid],
        "community_id": ref["grid_comm"][grid],
        "street_id": ref["grid_street"][grid],
        "district_id": np.full(n, ref["district"]),
        "reporter_person_id": np.where(ch == 0, worker, -1),
        "field_worker_id": np.where(needs_verify, worker, -1),
        "verified_by_id": np.where(np.isnan(verified), -1, worker),
        "checked_by_id": np.where(np.isnan(checked), -1, worker),
        "registered_by_id": np.where(np.isnan(registered), -1, rng.choice(ref["sls"], n)),
        "closed_by_id": np.where(np.isnan(closed), -1, rng.choice(ref["sls"], n)),
        "dispatched_by_id": np.where(np.isnan(dispatched), -1, rng.choice(ref["dps"], n)),
        "assigned_unit_id": unit,
        "reported_at": rep,
        "verify_due_at": verify_due,
        "verified_at": verified,
        "register_due_at": register_due,
        "registered_at": registered,
        "dispatch_due_at": dispatch_due,
        "dispatched_at": dispatched,
        "handle_due_at": handle_due,
        "handled_at": handled,
        "check_due_at": check_due,
        "checked_at": checked,
        "closed_at": closed,
        "cancelled_at": np.where(state == "cancelled", registered + DAY, np.nan),
        "rework_count": rework,
        "return_count": (rng.random(n) < 0.03).astype(int) * (~np.isnan(dispatched)),
        "postpone_count": postponed.astype(int),
        "shelve_count": shelved.astype(int),
        "satisfaction": sat,
        "created_at": rep,
        "updated_at": rep,
    }
    # Intake operator's events: request_verify for verified reports, request_check after handling.
    v_idx = np.nonzero(~np.isnan(verified))[0]
    c_idx = np.nonzero(~np.isnan(checked))[0]
    ev_case = np.concatenate([v_idx, c_idx]) + 1
    ev_at = np.concatenate(
        [
            rep[v_idx] + rng.uniform(1, 40, len(v_idx)) * MIN,
            handled[c_idx] + rng.uniform(1, 40, len(c_idx)) * MIN,
        ]
    )
    ev_action = np.array(["request_verify"] * len(v_idx) + ["request_check"] * len(c_idx), dtype=object)
    events = {
        "case_id": ev_case,
        "at": ev_at,
        "action": ev_action,
        "actor_person_id": rng.choice(ref["ops"], len(ev_case)),
        "role": np.full(len(ev_case), "intake_operator"),
    }
    return cols, events


# ----------------------------------------------------------------------------- writing
def _ts_strings(a, pg):
    out = np.full(len(a), None, dtype=object)
    ok = ~np.isnan(a)
    s = np.datetime_as_string(a[ok].astype("int64").astype("datetime64[s]"), unit="s")
    s = np.char.replace(s, "T", " ")
    out[ok] = np.char.add(s, "+00") if pg else s
    return out


def write(model, cols, n, batch=50_000):
    from django.db.models import DateTimeField, ForeignKey

    pg = connection.vendor == "postgresql"
    # The primary key is written only when given (the database assigns it otherwise).
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and f.attname not in cols)]
    names, columns = [], []
    for f in fields:
        names.append(f.column)
        key = f.attname if f.attname in cols else f.column
        v = cols.get(key)
        if v is None:
            default = f.get_default()
            if isinstance(default, dict | list):
                default = json.dumps(default)
            elif default is not None:
                default = f.get_db_prep_save(default, connection)
            columns.append([default] * n)
            continue
        a = np.asarray(v)
        if isinstance(f, DateTimeField):
            columns.append(_ts_strings(a.astype(float), pg))
        elif isinstance(f, ForeignKey) or a.dtype.kind in "if":
            lst = a.tolist()
            if f.null:
                lst = [None if (x == -1 or x != x) else x for x in lst]
            columns.append(lst)
        else:
            columns.append(a.tolist())
    rows = zip(*columns, strict=True)
    table = model._meta.db_table
    t0 = time.perf_counter()
    if pg:
        with (
            connection.cursor() as cur,
            cur.cursor.copy(
                f'COPY "{table}" ({",".join(chr(34) + c + chr(34) for c in names)}) FROM STDIN'
            ) as cp,
        ):
            for row in rows:
                cp.write_row(row)
    else:
        sql = f'INSERT INTO "{table}" ({",".join(chr(34) + c + chr(34) for c in names)}) VALUES ({",".join("?" * len(names))})'
        with connection.cursor() as cur:
            buf = []
            for row in rows:
                buf.append(row)
                if len(buf) >= batch:
                    cur.executemany(sql, buf)
                    buf.clear()
            if buf:
                cur.executemany(sql, buf)
    log(f"  wrote {n:,} rows into {table} in {time.perf_counter() - t0:.1f} s")


def generate(n):
    from urbangrid.cases.models import Case, CaseEvent

    log(f"generating {n:,} cases ...")
    with transaction.atomic():
        ref = build_reference()
        cols, events = gen_cases(n, ref)
        if connection.vendor == "sqlite":
            with connection.cursor() as cur:
                # A 2 GB page cache keeps the index B-trees in memory while loading.
                cur.execute("PRAGMA cache_size=-2000000")
        write(Case, cols, n)
        write(CaseEvent, events, len(events["case_id"]))
    with connection.cursor() as cur:
        # PostgreSQL: VACUUM too, as autovacuum would after a bulk load (index-only scans need the
        # visibility map), and ANALYZE for the planner's statistics.
        cur.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


# ------------------------------------------------------------------------------ timing
def _evaluate_many():
    """scoring.evaluate_many (shared queries for all kinds), or None for an engine without it."""
    try:
        from urbangrid.evaluation.scoring import evaluate_many
    except ImportError:
        return None
    return evaluate_many


def run_evaluation():
    """indicators_s: compute_many for all kinds; scored_s: the full evaluation (indicators, scores,
    grades, ranks) from scratch; with_change_s: the same plus the previous month's ranks."""
    from urbangrid.evaluation.choices import SubjectKind
    from urbangrid.evaluation.indicators import compute_many
    from urbangrid.evaluation.periods import Period
    from urbangrid.evaluation.scoring import evaluate, resolve_version

    period = Period.parse(PERIOD)
    version = resolve_version("city")
    as_of = datetime.fromtimestamp(DATA_NOW, TZ)
    kinds = SubjectKind.values
    t0 = time.perf_counter()
    measures = compute_many(kinds, period, as_of=as_of)
    t1 = time.perf_counter()
    evaluate_many = _evaluate_many()
    if evaluate_many is not None:
        rows = sum(
            len(ev.rows) for ev in evaluate_many(kinds, period, version, as_of=as_of, with_change=False)
        )
        t2 = time.perf_counter()
        evaluate_many(kinds, period, version, as_of=as_of, with_change=True)
        t3 = time.perf_counter()
        return {"indicators_s": t1 - t0, "scored_s": t2 - t1, "with_change_s": t3 - t2, "subjects": rows}
    # The engine before evaluate_many: the measures above, then each kind.
    rows = 0
    for k in kinds:
        ev = evaluate(k, period, version, as_of=as_of, _measures=measures[k], with_change=False)
        rows += len(ev.rows)
    t2 = time.perf_counter()
    # With rank change: the previous month too.
    prev = compute_many(kinds, period.previous(), as_of=as_of)
    for k in kinds:
        evaluate(k, period.previous(), version, as_of=as_of, _measures=prev[k], with_change=False)
    t3 = time.perf_counter()
    return {"indicators_s": t1 - t0, "scored_s": t2 - t0, "with_change_s": t3 - t0, "subjects": rows}


def results_snapshot():
    """Every number of the evaluation (September and October, every kind): indicator numerators
    and denominators, scores, grades and ranks, in a canonical JSON-able form. Two engines over
    the same rows must give the same snapshot (``--dump`` / ``--check``)."""
    from urbangrid.evaluation.choices import SubjectKind
    from urbangrid.evaluation.indicators import compute_many
    from urbangrid.evaluation.periods import Period
    from urbangrid.evaluation.scoring import evaluate, resolve_version

    version = resolve_version("city")
    as_of = datetime.fromtimestamp(DATA_NOW, TZ)
    out = {}
    for label in (PERIOD, Period.parse(PERIOD).previous().label):
        period = Period.parse(label)
        evaluate_many = _evaluate_many()
        if evaluate_many is not None:
            evals = evaluate_many(SubjectKind.values, period, version, as_of=as_of, with_change=False)
        else:
            measures = compute_many(SubjectKind.values, period, as_of=as_of)
            evals = [
                evaluate(k, period, version, as_of=as_of, _measures=measures[k], with_change=False)
                for k in SubjectKind.values
            ]
        for k, ev in zip(SubjectKind.values, evals, strict=True):
            out[f"{label}/{k}"] = {
                r.subject.key: {
                    "m": {c: [m.num, m.den] for c, m in sorted(r.measures.items())},
                    "total": None if r.total is None else round(r.total, 9),
                    "grade": r.grade,
                    "rank": r.rank,
                }
                for r in sorted(ev.rows, key=lambda r: r.subject.key)
            }
    return out


def compare_snapshots(old: dict, new: dict) -> list[str]:
    diffs = []
    for part in sorted(set(old) | set(new)):
        a, b = old.get(part, {}), new.get(part, {})
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                diffs.append(f"{part} {key}: {a.get(key)} != {b.get(key)}")
    return diffs


def per_query(sqls: list[str], explain: bool):
    """Time each captured statement alone (and print its plan with --explain)."""
    out = []
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cur:
        for sql in sqls:
            t0 = time.perf_counter()
            cur.execute(sql)
            n = len(cur.fetchall())
            dt = time.perf_counter() - t0
            out.append({"s": round(dt, 4), "rows": n, "sql": sql[:160]})
            log(f"{dt:7.3f} s {n:6d} rows  {sql[:150]}")
            if explain:
                cur.execute(("EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN ") + sql)
                log("\n".join("    " + " ".join(str(x) for x in r) for r in cur.fetchall()))
    return out


def capture_sql():
    """The aggregate SQL the engine sends (PostgreSQL dialect, parameters bound); inside a
    transaction, so that an engine spreading its statements over several connections sends them
    all through this one."""
    from django.test.utils import CaptureQueriesContext

    from urbangrid.evaluation.choices import SubjectKind
    from urbangrid.evaluation.indicators import compute_many
    from urbangrid.evaluation.periods import Period

    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        compute_many(SubjectKind.values, Period.parse(PERIOD), as_of=datetime.fromtimestamp(DATA_NOW, TZ))
    return [q["sql"] for q in ctx.captured_queries if "GROUP BY" in q["sql"] and "COUNT(" in q["sql"].upper()]


def duckdb_reference(workdir: Path, sqls: list[str], repeat: int):
    import duckdb

    tables = ["cases_case", "cases_caseevent", "evaluation_spotcheckitem", "orgs_gridassignment"]
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        for t in tables:
            path = workdir / f"{t}.csv"
            with open(path, "wb") as fh, cur.cursor.copy(f'COPY "{t}" TO STDOUT WITH CSV HEADER') as cp:
                for chunk in cp:
                    fh.write(chunk)
    db = duckdb.connect()
    for t in tables:
        csv = workdir / f"{t}.csv"
        pq = workdir / f"{t}.parquet"
        with connection.cursor() as cur:
            cur.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name=%s", [t]
            )
            types = {
                c: (
                    "TIMESTAMPTZ"
                    if "timestamp" in d
                    else "VARCHAR"
                    if d in ("jsonb", "text") or "char" in d
                    else "BIGINT"
                    if "int" in d
                    else "DOUBLE"
                    if d in ("double precision", "real")
                    else "BOOLEAN"
                    if d == "boolean"
                    else "VARCHAR"
                )
                for c, d in cur.fetchall()
            }
        db.execute(
            f"COPY (SELECT * FROM read_csv('{csv}', header=true, types={types!r})) TO '{pq}' (FORMAT parquet)"
        )
        db.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{pq}')")
        csv.unlink()
    export_s = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t1 = time.perf_counter()
        n = 0
        for sql in sqls:
            n += len(db.execute(sql).fetchall())
        times.append(time.perf_counter() - t1)
    return {"export_s": export_s, "times": times, "rows": n, "queries": len(sqls)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--duckdb", action="store_true", help="also run the captured SQL in DuckDB (PostgreSQL only)"
    )
    ap.add_argument("--json", default="")
    ap.add_argument("--load-only", action="store_true", help="generate the rows and stop")
    ap.add_argument("--dump", default="", help="write every number of the evaluation to this JSON file")
    ap.add_argument(
        "--check", default="", help="compare every number with a --dump file; exit 1 on a difference"
    )
    ap.add_argument("--per-query", action="store_true", help="time each aggregate statement alone")
    ap.add_argument("--explain", action="store_true", help="with --per-query: print the plans")
    ap.add_argument("--no-timing", action="store_true", help="skip the timed runs")
    ap.add_argument("--analyze", action="store_true", help="ANALYZE after migrating (new indexes/statistics)")
    ap.add_argument(
        "--connections", type=int, default=0, help="EVALUATION CONNECTIONS for the engine (default: its own)"
    )
    args = ap.parse_args()
    if args.connections:
        from django.conf import settings

        conf = getattr(settings, "URBANGRID", {})
        settings.URBANGRID = {
            **conf,
            "EVALUATION": {**conf.get("EVALUATION", {}), "CONNECTIONS": args.connections},
        }
    from urbangrid.cases.models import Case

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    if args.analyze:
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    log(f"migrated{' and analyzed' if args.analyze else ''} in {time.perf_counter() - t0:.1f} s")
    have = Case.objects.count()
    if have < args.cases:
        if have:
            raise SystemExit(
                f"database holds {have:,} cases, fewer than {args.cases:,}: use a fresh database"
            )
        generate(args.cases)
    if args.load_only:
        return
    if args.dump or args.check:
        snap = results_snapshot()
        if args.dump:
            Path(args.dump).write_text(json.dumps(snap, sort_keys=True, indent=0))
            log(f"wrote {sum(len(v) for v in snap.values()):,} result lines to {args.dump}")
        if args.check:
            diffs = compare_snapshots(json.loads(Path(args.check).read_text()), snap)
            for d in diffs[:20]:
                log("DIFF", d)
            if diffs:
                raise SystemExit(f"{len(diffs)} result lines differ from {args.check}")
            log(f"identical to {args.check}: {sum(len(v) for v in snap.values()):,} result lines")
    if args.per_query:
        per_query(capture_sql(), args.explain)
    if args.no_timing:
        return
    n_cases = Case.objects.count()
    from urbangrid.cases.models import CaseEvent

    n_events = CaseEvent.objects.count()
    load_before = os.getloadavg()
    run_evaluation()  # warm caches
    runs = [run_evaluation() for _ in range(args.repeat)]
    result = {
        "date": datetime.now(ZoneInfo("UTC")).isoformat(timespec="seconds"),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "vendor": connection.vendor,
        "cases": n_cases,
        "events": n_events,
        "period": PERIOD,
        "subjects": runs[0]["subjects"],
        "connections": args.connections or "default",
        **{k: statistics.median(r[k] for r in runs) for k in ("indicators_s", "scored_s", "with_change_s")},
        "runs": runs,
    }
    if args.duckdb and connection.vendor == "postgresql":
        sqls = capture_sql()
        result["sql_queries"] = len(sqls)
        with connection.cursor() as cur:
            t1 = time.perf_counter()
            for sql in sqls:
                cur.execute(sql)
                cur.fetchall()
            result["pg_raw_sql_s"] = time.perf_counter() - t1
        d = duckdb_reference(ROOT / "var" / "bench_eval_duckdb", sqls, args.repeat)
        result["duckdb_s"] = statistics.median(d["times"])
        result["duckdb"] = d
    print(json.dumps(result, indent=1, default=str))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
