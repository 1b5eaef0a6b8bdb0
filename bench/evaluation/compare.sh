#!/usr/bin/env bash
# Same-run before/after on ONE loaded database: the engine at $BASE (default: the commit before the
# per-window engine) on the schema it had, then the working tree's engine after its migrations.
# Every numerator, denominator, score, grade and rank of two months must be identical (--check
# fails the run otherwise). Load the database first, e.g.
#   DATABASE_URL=$DB .venv/bin/python bench/evaluation/bench_eval.py --cases 1000000 --load-only
# then: DB=$DB [EXTRA=--duckdb] bench/evaluation/compare.sh
# Another engine as the base: BASE=<commit> BASE_CASES=<the cases migration it runs on>.
# AFTER=<commit>: that commit's engine instead of the working tree (a clean tree, when others'
# uncommitted work shares the checkout). AFTER_EXTRA: options for the after run only
# (e.g. --connections 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE="${BASE:-e56273f^}"
BASE_CASES="${BASE_CASES:-0003}"
AFTER="${AFTER:-}"
AFTER_EXTRA="${AFTER_EXTRA:-}"
DB="${DB:?set DB to the URL of a loaded database}"
OUT="${OUT:-$PWD/var/bench_eval_compare}"
NAME="$(basename "${DB%%\?*}" | sed 's/\..*//')"
case "$DB" in sqlite*) TAG="${TAG:-sqlite_$NAME}" ;; *) TAG="${TAG:-pg_$NAME}" ;; esac
EXTRA="${EXTRA:-}"
PY="$PWD/.venv/bin/python"
mkdir -p "$OUT"
BASEDIR=$(mktemp -d /tmp/ug_eval_base.XXXXXX)
AFTERDIR=$PWD
trap 'rm -rf "$BASEDIR" ${AFTER:+"$AFTERDIR"}' EXIT
git archive "$BASE" | tar -x -C "$BASEDIR"
if [ -n "$AFTER" ]; then
  AFTERDIR=$(mktemp -d /tmp/ug_eval_after.XXXXXX)
  git archive "$AFTER" | tar -x -C "$AFTERDIR"
fi
cp bench/evaluation/bench_eval.py "$BASEDIR/bench/evaluation/" # the same harness for both engines

echo "== before: engine at $BASE, cases schema at $BASE_CASES" >&2
(cd "$AFTERDIR" && DATABASE_URL="$DB" "$PY" manage.py migrate cases "$BASE_CASES" -v 0)
uptime >&2
# shellcheck disable=SC2086
DATABASE_URL="$DB" "$PY" "$BASEDIR/bench/evaluation/bench_eval.py" --analyze \
  --dump "$OUT/$TAG.before.numbers.json" --json "$OUT/$TAG.before.json" $EXTRA >/dev/null

echo "== after: ${AFTER:-working tree}, all migrations" >&2
uptime >&2
# shellcheck disable=SC2086
DATABASE_URL="$DB" "$PY" "$AFTERDIR/bench/evaluation/bench_eval.py" --analyze \
  --check "$OUT/$TAG.before.numbers.json" --json "$OUT/$TAG.after.json" $EXTRA $AFTER_EXTRA >/dev/null
uptime >&2
"$PY" - "$OUT/$TAG.before.json" "$OUT/$TAG.after.json" <<'PY'
import json, sys
b, a = (json.load(open(p)) for p in sys.argv[1:])
for k in ("indicators_s", "scored_s", "with_change_s", "pg_raw_sql_s", "duckdb_s", "sql_queries"):
    if k in a:
        print(f"{k:15} before {b.get(k, float('nan')):8.3f}   after {a[k]:8.3f}")
PY
