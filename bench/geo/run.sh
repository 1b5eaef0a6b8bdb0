#!/usr/bin/env bash
# Rerun the geo benchmarks and rewrite RESULTS.md (a few minutes; --db adds the SQLite build).
set -euo pipefail
cd "$(dirname "$0")/../.."
.venv/bin/python bench/geo/bench_geo.py --points 1000000 --db --markdown bench/geo/RESULTS.md.new
{
  cat bench/geo/RESULTS.md.new
  echo
  sed -n '/^## Notes/,$p' bench/geo/NOTES.md
} > bench/geo/RESULTS.md
rm -f bench/geo/RESULTS.md.new
