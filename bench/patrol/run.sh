#!/usr/bin/env bash
# Rerun the patrol coverage benchmark and rewrite RESULTS.md (~10 minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."
.venv/bin/python bench/patrol/bench_patrol.py --workers 300 --sample 12 --runs 3 --markdown bench/patrol/RESULTS.md
