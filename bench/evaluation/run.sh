#!/usr/bin/env bash
# The monthly evaluation over 1,000,000 cases on SQLite and PostgreSQL, DuckDB as reference.
# Fresh databases each run (generation takes minutes); figures go to var/bench_eval_*.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${BENCH_CASES:-1000000}"
PG="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/ug_bench_eval}"
rm -f var/bench_eval.sqlite3 var/bench_eval.sqlite3-wal var/bench_eval.sqlite3-shm
DATABASE_URL=sqlite:///var/bench_eval.sqlite3 .venv/bin/python bench/evaluation/bench_eval.py \
  --cases "$N" --json var/bench_eval_sqlite.json
if psql "${PG%/*}/postgres" -c "DROP DATABASE IF EXISTS ${PG##*/}" -c "CREATE DATABASE ${PG##*/}" >/dev/null; then
  DATABASE_URL="$PG" .venv/bin/python bench/evaluation/bench_eval.py --cases "$N" --duckdb --json var/bench_eval_pg.json
else
  echo "SKIPPED: PostgreSQL unreachable at $PG" >&2
fi
