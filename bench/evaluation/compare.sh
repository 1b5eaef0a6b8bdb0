#!/usr/bin/env bash
# Same-run before/after on ONE loaded database: the engine at $BASE (default: the commit before the
# per-window engine) on the schema it had, then the working tree's engine after its migrations.
# Every numerator, denominator, score, grade and rank of two months must be identical (--check
# fails the run otherwise). Load the database first, e.g.
#   DATABASE_URL=$DB .venv/bin/python bench/evaluation/bench_eval.py --cases 1000000 --load-only
# then: DB=$DB [EXTRA=--duckdb] bench/evaluation/compare.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE="${BASE:-e56273f^}"
DB="${DB:?set DB to the URL of a loaded database}"
OUT="${OUT:-var/bench_eval_compare}"
NAME="$(basename "${DB%%\?*}" | sed 's/\..*//')"
case "$DB" in sqlite*) TAG="${TAG:-sqlite_$NAME}" ;; *) TAG="${TAG:-pg_$NAME}" ;; esac
EXTRA="${EXTRA:-}"
mkdir -p "$OUT"
BASEDIR=$(mktemp -d /tmp/ug_eval_base.XXXXXX)
trap 'rm -rf "$BASEDIR"' EXIT
git archive "$BASE" | tar -x -C "$BASEDIR"
cp bench/evaluation/bench_eval.py "$BASEDIR/bench/evaluation/" # the same harness for both engines

echo "== before: engine at $BASE, cases schema at 0003" >&2
DATABASE_URL="$DB" .venv/bin/python manage.py migrate cases 0003 -v 0
uptime >&2
# shellcheck disable=SC2086
DATABASE_URL="$DB" .venv/bin/python "$BASEDIR/bench/evaluation/bench_eval.py" --analyze \
  --dump "$OUT/$TAG.before.numbers.json" --json "$OUT/$TAG.before.json" $EXTRA >/dev/null

echo "== after: working tree, all migrations" >&2
uptime >&2
# shellcheck disable=SC2086
DATABASE_URL="$DB" .venv/bin/python bench/evaluation/bench_eval.py --analyze \
  --check "$OUT/$TAG.before.numbers.json" --json "$OUT/$TAG.after.json" $EXTRA >/dev/null
uptime >&2
.venv/bin/python - "$OUT/$TAG.before.json" "$OUT/$TAG.after.json" <<'PY'
import json, sys
b, a = (json.load(open(p)) for p in sys.argv[1:])
for k in ("indicators_s", "scored_s", "with_change_s", "pg_raw_sql_s", "duckdb_s", "sql_queries"):
    if k in a:
        print(f"{k:15} before {b.get(k, float('nan')):8.3f}   after {a[k]:8.3f}")
PY
