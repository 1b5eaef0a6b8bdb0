#!/usr/bin/env bash
# Command-map benchmark: builds the `city` demo (5,000+ grids) into its own SQLite database,
# tops it up to 20,000 open cases, serves it with gunicorn and measures in headless Chromium.
# Usage: bench/console/run.sh            (RUNS=3 by default; BENCH_DIR to reuse a built city)
set -euo pipefail
cd "$(dirname "$0")/../.."
export URBANGRID_VAR_DIR="${BENCH_DIR:-$PWD/bench/out/console}"
export DJANGO_SETTINGS_MODULE=urbangrid.settings PYTHONPATH="$PWD"
PORT="${PORT:-8765}"
PY=.venv/bin/python
mkdir -p "$URBANGRID_VAR_DIR"
$PY manage.py migrate -v0
$PY manage.py build_demo_city --seed 1 --scale city --history-days 0 --if-empty
$PY bench/console/seed_cases.py 20000
$PY -m gunicorn urbangrid.wsgi:application --bind 127.0.0.1:$PORT --workers 2 --threads 4 --log-level warning &
SERVER=$!
trap 'kill $SERVER' EXIT
sleep 3
$PY bench/console/bench_map.py "http://127.0.0.1:$PORT" center_dispatch demo12345 | tee "$URBANGRID_VAR_DIR/bench-map.json"
