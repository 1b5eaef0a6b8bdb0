#!/usr/bin/env bash
# The whole suite, twice: on SQLite (with the browser tests) and on PostgreSQL; then the
# date-sensitive tests (marked `clock`) once more under every other test clock (conftest.py's
# TEST_CLOCKS: end of the working day, last second of a month and a year, a holiday's eve, a
# local date that is not the UTC date), on both databases.
# With CI=true a missing PostgreSQL or Chromium fails the run; elsewhere they are skipped, loudly.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/urbangrid}"
mkdir -p test-artifacts

CLOCKS=$("$BIN/python" -c 'import conftest; print(*(c for c in conftest.TEST_CLOCKS if c != conftest.DEFAULT_CLOCK))')

echo "== tests on SQLite (with browser tests) =="
env -u DATABASE_URL "$BIN/pytest" -p no:cacheprovider -n 2 --dist loadfile "$@"
for clock in $CLOCKS; do
  echo "== date-sensitive tests on SQLite, test clock $clock =="
  env -u DATABASE_URL URBANGRID_TEST_CLOCK="$clock" "$BIN/pytest" -p no:cacheprovider -n 2 --dist loadfile -q -m clock "$@"
done

if "$BIN/python" - "$PG_URL" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1].rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL unreachable: {exc}", file=sys.stderr)
    sys.exit(1)
PY
then
  echo "== tests on PostgreSQL ($PG_URL) =="
  DATABASE_URL="$PG_URL" "$BIN/pytest" -p no:cacheprovider -n 2 --dist loadfile -m "not browser" "$@"
  for clock in $CLOCKS; do
    echo "== date-sensitive tests on PostgreSQL, test clock $clock =="
    DATABASE_URL="$PG_URL" URBANGRID_TEST_CLOCK="$clock" "$BIN/pytest" -p no:cacheprovider -n 2 --dist loadfile -q \
      -m "clock and not browser" "$@"
  done
elif [ "${CI:-}" = "true" ]; then
  echo "FAIL: PostgreSQL is required in CI and is unreachable at $PG_URL" >&2
  exit 1
else
  echo "SKIPPED: the PostgreSQL run (no server at $PG_URL); CI runs it." >&2
fi
