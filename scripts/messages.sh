#!/usr/bin/env bash
# Extract and compile translations for one app (or "project" for templates/, lib/, api.py, settings).
# Usage: scripts/messages.sh geo|catalog|...|project
# Every app keeps its own urbangrid/<app>/locale so that apps can be worked on independently.
set -euo pipefail
cd "$(dirname "$0")/.."
ADMIN="$PWD/.venv/bin/django-admin"
export DJANGO_SETTINGS_MODULE=urbangrid.settings PYTHONPATH="$PWD" URBANGRID_DEMO="${URBANGRID_DEMO:-1}"
app="${1:?usage: scripts/messages.sh APP|project}"
if [ "$app" = project ]; then
  cd urbangrid
  ignores=()
  for d in */; do
    d="${d%/}"
    case "$d" in templates|locale|static) ;; *) [ -f "$d/apps.py" ] && ignores+=(--ignore "$d/*") ;; esac
  done
  mkdir -p locale
  "$ADMIN" makemessages -l zh_Hans -l en --no-obsolete "${ignores[@]}"
  "$ADMIN" compilemessages -l zh_Hans -l en
else
  cd "urbangrid/$app"
  mkdir -p locale
  "$ADMIN" makemessages -l zh_Hans -l en --no-obsolete
  "$ADMIN" makemessages -d djangojs -l zh_Hans -l en --no-obsolete 2>/dev/null || true
  "$ADMIN" compilemessages -l zh_Hans -l en
fi
