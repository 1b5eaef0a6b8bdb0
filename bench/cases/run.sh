#!/usr/bin/env bash
# Cases benchmarks on PostgreSQL (database ug_bench_cases, rebuilt): intake through gunicorn with
# 200,000 cases in the database, then the deadline sweep and the dispatcher list over 1,000,000.
# Figures are printed as JSON lines and collected in bench/cases/last_run.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."
DB=ug_bench_cases
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
PORT="${PORT:-18931}"
WORKERS="${WORKERS:-4}"
THREADS="${THREADS:-16}"
PACED_RATE="${PACED_RATE:-350}"  # think time makes the achieved rate ~10 % lower than offered
CLIENTS="${CLIENTS:-50}"
SECONDS_="${SECONDS_:-60}"
OUT=bench/cases/last_run.jsonl
: > "$OUT"
bash bench/cases/setup_db.sh 10000 "$DB"
.venv/bin/python bench/cases/grow.py 200000 | tee -a "$OUT"
# Intake through the real stack: gunicorn as `manage.py serve` runs it (gthread workers, keep-alive,
# persistent DB connections), token auth. Threads >= clients: a keep-alive connection stays with
# the worker that accepted it, and with fewer threads its requests queue there while another
# worker idles (seen: p99 1.8 s at 4 x 4 threads).
serve() {
  DB_CONN_MAX_AGE=600 .venv/bin/gunicorn urbangrid.wsgi:application -b "127.0.0.1:$PORT" -w "$WORKERS" \
    --threads "$THREADS" --keep-alive 30 --log-level warning &
  GPID=$!
  trap 'kill $GPID 2>/dev/null || true' EXIT
  for _ in $(seq 60); do curl -s -o /dev/null "http://127.0.0.1:$PORT/api/v1/openapi.json" && break; sleep 1; done
}
# wrk (Debian package) drives the load: a Python client would take much of the 2 cores itself.
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
serve
.venv/bin/python bench/cases/intake_load.py --wrk --batch "${BATCH:-20}" --port "$PORT" --clients "$CLIENTS" \
  --seconds "$SECONDS_" | tee -a "$OUT"
kill $GPID; wait $GPID 2>/dev/null || true
# Paced clients offering ~300 reports/s (think time between requests), each on a fresh database:
# the phases above leave tens of thousands of reports of the last minutes in it, which would make
# most later reports duplicates.
for paced in "1 $PACED_RATE" "10 $PACED_RATE"; do
  set -- $paced
  bash bench/cases/setup_db.sh 10000 "$DB"
  .venv/bin/python bench/cases/grow.py 200000 >/dev/null
  serve
  .venv/bin/python bench/cases/intake_load.py --wrk --rate "$2" --batch "$1" --port "$PORT" --clients "$CLIENTS" \
    --seconds "$SECONDS_" | tee -a "$OUT"
  kill $GPID; wait $GPID 2>/dev/null || true
done
# A fresh database grown to 1,000,000 rows by copying the generated rows (new numbers/tokens/ids,
# same shape): grown from the intake runs' database it would copy their reports too (all open,
# all of today) and no longer be a city with 10 % open cases.
bash bench/cases/setup_db.sh 10000 "$DB"
.venv/bin/python bench/cases/grow.py 1000000 | tee -a "$OUT"
BUSY_SIZES="${BUSY_SIZES:-10,100}" .venv/bin/python bench/cases/db_bench.py | tee -a "$OUT"
