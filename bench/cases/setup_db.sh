#!/usr/bin/env bash
# Fresh PostgreSQL database for the cases benchmarks: schema, the small demo city, N bulk cases.
# (CaseEvent rows are skipped: none of these benchmarks reads them; see README.)
# Usage: bench/cases/setup_db.sh [N=200000] [DB=ug_bench_cases] [SCALE=city]
# The city scale (50 km², 5,192 grids) gives the density of reports of a real city: on the small
# demo (16 communities) a flood of benchmark reports makes most of them duplicates of each other.
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-200000}"
DB="${2:-ug_bench_cases}"
SCALE="${3:-city}"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB" postgres
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB" postgres
.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python manage.py build_demo_city --seed 1 --scale "$SCALE" --quiet-accounts
.venv/bin/python manage.py bulkgen_cases --count "$N" --open-fraction 0.1 --days 365 --no-events
psql -h 127.0.0.1 -U postgres -qc "VACUUM ANALYZE" "$DB"
