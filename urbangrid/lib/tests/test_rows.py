"""lib.rows.insert: the hot paths' INSERT, checked against what save() stores."""

import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from urbangrid.lib import rows
from urbangrid.lib.models import AuditEvent


@pytest.mark.django_db
def test_insert_sets_keys_defaults_and_values_as_save_does():
    saved = AuditEvent(action="saved", object_type="x", payload={"k": [1, "二"]})
    saved.save()
    new = [AuditEvent(action=f"a{i}", object_type="x", summary="摘要", payload={"i": i}) for i in range(300)]
    fields = [f for f in AuditEvent._meta.concrete_fields if f is not AuditEvent._meta.auto_field]
    statements = math.ceil(300 / connection.ops.bulk_batch_size(fields, new))
    with CaptureQueriesContext(connection) as ctx:
        rows.insert(new)
    # One statement per chunk the database allows (one on PostgreSQL, several on SQLite).
    assert len(ctx.captured_queries) == statements
    assert all(not e._state.adding and e.pk for e in new)
    assert len({e.pk for e in new}) == 300 and saved.pk not in {e.pk for e in new}
    stored = {e.pk: e for e in AuditEvent.objects.filter(pk__in=[e.pk for e in new])}
    for e in new:
        s = stored[e.pk]
        assert (s.action, s.summary, s.payload, s.actor_id) == (e.action, "摘要", e.payload, None)
        assert s.at == e.at and s.at >= saved.at  # auto_now_add, as save() sets it


@pytest.mark.django_db
def test_insert_of_nothing_runs_nothing():
    with CaptureQueriesContext(connection) as ctx:
        rows.insert([])
    assert ctx.captured_queries == []
