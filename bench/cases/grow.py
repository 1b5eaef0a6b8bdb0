"""Grow the benchmark case table to N rows by copying existing (bulk-generated) rows in SQL:
new ids, numbers (original + copy suffix) and follow-up tokens; every other column as generated,
so the open fraction and the column profile stay the same. PostgreSQL only. Prints JSON."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "urbangrid.settings")
import django  # noqa: E402

django.setup()
from django.db import connection, transaction  # noqa: E402

from urbangrid.cases.models import Case  # noqa: E402

target = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
t0 = time.monotonic()
cols = [f.column for f in Case._meta.concrete_fields if f.column not in ("id",)]
base = Case.objects.count()
k = 0
while Case.objects.count() < target:
    k += 1
    need = target - Case.objects.count()
    sel = ", ".join(
        f"number || '{k:02d}'" if c == "number" else "substr(md5(random()::text || id::text), 1, 22)" if c == "public_token" else c
        for c in cols
    )
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO cases_case ({', '.join(cols)}) SELECT {sel} FROM cases_case WHERE id IN "
            f"(SELECT id FROM cases_case ORDER BY id LIMIT %s)",
            [min(need, base)],
        )
with connection.cursor() as cur:
    cur.execute("VACUUM ANALYZE cases_case") if connection.in_atomic_block is False else None
print(json.dumps({"grow": Case.objects.count(), "copies": k, "seconds": round(time.monotonic() - t0, 1)}))
