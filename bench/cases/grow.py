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
# Secondary indexes are dropped during the copy and rebuilt after it (much faster in bulk); the
# primary key and the unique constraints (number, public_token) stay.
with connection.cursor() as cur:
    cur.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases_case' AND indexdef NOT LIKE '%UNIQUE%'"
    )
    indexes = cur.fetchall()
    for name, _ in indexes:
        cur.execute(f'DROP INDEX IF EXISTS "{name}"')
# A suffix no earlier run used, so copies stay unique across runs; only the generated rows (14-digit
# numbers) are copied, so numbers stay within the column's 20 characters however often it runs.
run_tag = format(int(time.time()) % 1296, "02d")[-2:]
try:
    base = Case.objects.extra(where=["length(number) = 14"]).count()
    k = 0
    while Case.objects.count() < target:
        k += 1
        need = target - Case.objects.count()
        sel = ", ".join(
            f"number || '{run_tag}{k}'"
            if c == "number"
            else "substr(md5(random()::text || id::text), 1, 22)"
            if c == "public_token"
            else c
            for c in cols
        )
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO cases_case ({', '.join(cols)}) SELECT {sel} FROM cases_case WHERE id IN "
                f"(SELECT id FROM cases_case WHERE length(number) = 14 ORDER BY id LIMIT %s)",
                [min(need, base)],
            )
finally:  # the indexes come back even when the copy fails
    with connection.cursor() as cur:
        for _, ddl in indexes:
            cur.execute(ddl)
        cur.execute("VACUUM ANALYZE cases_case")
print(json.dumps({"grow": Case.objects.count(), "copies": k, "seconds": round(time.monotonic() - t0, 1)}))
