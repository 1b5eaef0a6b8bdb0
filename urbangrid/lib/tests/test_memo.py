"""The per-process cache of lib/memo.py: built once per key, again after its time or a clear."""

from __future__ import annotations

from urbangrid.lib.memo import ExpiringCache


def test_a_value_is_built_once_per_key_until_it_expires_or_is_cleared(monkeypatch):
    builds = []
    cache = ExpiringCache(lambda key: builds.append(key) or f"value {key}", seconds=300)
    now = [1000.0]
    monkeypatch.setattr("urbangrid.lib.memo.time.monotonic", lambda: now[0])

    assert cache.get(1) == cache.get(1) == "value 1"
    assert cache.get(None) == "value None"
    assert builds == [1, None]
    now[0] += 300
    cache.get(1)
    assert builds == [1, None]  # still fresh at exactly its age limit
    now[0] += 1
    cache.get(1)
    assert builds == [1, None, 1]
    cache.clear()
    cache.get(None)
    assert builds == [1, None, 1, None]
