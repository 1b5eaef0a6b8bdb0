#!/usr/bin/env bash
# Same-machine "before" for the intake figures: an earlier commit's server, from a clean tree,
# measured exactly as run.sh measures the current one (gunicorn gthread, fresh databases, the
# current client). Usage: BASE=08c7cf0 bash bench/cases/intake_before.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE="${BASE:?BASE=<commit> is required}"
DB=ug_bench_before
PORT="${PORT:-18932}"
TREE=$(mktemp -d /tmp/ug_before.XXXXXX)
git worktree add -q --detach "$TREE" "$BASE"
ln -s "$PWD/.venv" "$TREE/.venv"
trap 'git worktree remove --force "$TREE"' EXIT
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
fresh() { (cd "$TREE" && bash bench/cases/setup_db.sh 10000 "$DB" city >/dev/null && .venv/bin/python bench/cases/grow.py 200000 >/dev/null); }
serve() {
  DB_CONN_MAX_AGE=600 .venv/bin/gunicorn --chdir "$TREE" urbangrid.wsgi:application -b "127.0.0.1:$PORT" \
    -w "${WORKERS:-4}" --threads "${THREADS:-16}" --keep-alive 30 --log-level warning &
  GPID=$!
  for _ in $(seq 60); do curl -s -o /dev/null "http://127.0.0.1:$PORT/api/v1/openapi.json" && break; sleep 1; done
}
stop() { kill "$GPID"; wait "$GPID" 2>/dev/null || true; }
fresh; serve
.venv/bin/python bench/cases/intake_load.py --wrk --batch 20 --port "$PORT" --clients 50 --seconds "${SECONDS_:-60}"
stop
for batch in 1 10; do
  fresh; serve
  .venv/bin/python bench/cases/intake_load.py --wrk --rate "${PACED_RATE:-350}" --batch "$batch" --port "$PORT" \
    --clients 50 --seconds "${SECONDS_:-60}"
  stop
done
