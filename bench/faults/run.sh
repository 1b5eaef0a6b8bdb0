#!/usr/bin/env bash
# Database faults under load (see README.md): this checkout, then main's code as the baseline,
# against the same PostgreSQL database. Usage: bench/faults/run.sh
# (FAULTS_DB_URL, PORT and TERMINATIONS to change; needs PostgreSQL)
set -euo pipefail
cd "$(dirname "$0")/../.."
URL="${FAULTS_DB_URL:-postgres://postgres@127.0.0.1:5432/urbangrid_faults}"
BASE=$(mktemp -d)
trap 'rm -rf "$BASE"' EXIT
git archive "${BASELINE:-main}" | tar -x -C "$BASE"
ln -s "$PWD/urbangrid/static/vendor" "$BASE/urbangrid/static/vendor"
for project in "$PWD" "$BASE"; do
  .venv/bin/python bench/faults/faults.py --database-url "$URL" --port "${PORT:-8110}" \
    --terminations "${TERMINATIONS:-8}" --project "$project"
done
