#!/usr/bin/env bash
# Run every benchmark topic that has a run.sh; each writes its figures into its RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")"
for topic in */; do
  if [ -x "$topic/run.sh" ]; then
    echo "== bench/$topic =="
    "$topic/run.sh"
  fi
done
