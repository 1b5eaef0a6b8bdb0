"""The engine spreads its aggregate statements over two database connections, and keeps to the
one connection inside a transaction."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from urbangrid.evaluation import indicators
from urbangrid.evaluation.periods import Period

from .world import AS_OF, build_world

OCT = Period.parse("2026-10")
KINDS = indicators.K.values


def numbers(result):
    return {
        kind: {key: {code: (m.num, m.den) for code, m in ms.items()} for key, ms in subjects.items()}
        for kind, subjects in result.items()
    }


def connections_setting(settings, n):
    settings.URBANGRID = {**settings.URBANGRID, "EVALUATION": {"CONNECTIONS": n}}


class Spy:
    """The thread that ran each aggregate statement. With ``meet`` set, a thread's first statement
    waits there for the other connection's first (at most 5 s), so that both get work however
    fast the statements are."""

    def __init__(self):
        self.threads: list[int] = []
        self.meet: threading.Barrier | None = None


@pytest.fixture
def spy(monkeypatch):
    s, fetch = Spy(), indicators._fetch

    def recording(conn, st):
        me = threading.get_ident()
        first = me not in s.threads
        s.threads.append(me)
        if first and s.meet is not None:
            s.meet.wait()
        return fetch(conn, st)

    monkeypatch.setattr(indicators, "_fetch", recording)
    return s


@pytest.fixture
def committed(transactional_db, monkeypatch, as_of):
    """The world committed, so that another connection sees it. SQLite's test database lives in
    memory; it is shared between the connections of this process (cache=shared), so the engine
    may open a second one here, which it does not assume of an in-memory database in general."""
    if connection.vendor == "sqlite":
        monkeypatch.setattr(indicators, "_one_connection", lambda conn: conn.in_atomic_block)
    return build_world()


def test_two_connections_give_the_numbers_of_one(committed, spy, settings):
    connections_setting(settings, 1)
    one = numbers(indicators.compute_many(KINDS, OCT, as_of=AS_OF))
    assert set(spy.threads) == {threading.get_ident()} and len(spy.threads) == 11
    spy.threads.clear()
    spy.meet = threading.Barrier(2, timeout=5)
    connections_setting(settings, 2)
    two = numbers(indicators.compute_many(KINDS, OCT, as_of=AS_OF))
    assert len(set(spy.threads)) == 2 and len(spy.threads) == 11
    assert two == one
    assert two["unit"][str(committed.u1.id)]["handling_due"] == (4, None)


def test_inside_a_transaction_one_connection_sees_uncommitted_rows(world, spy, settings):
    connections_setting(settings, 2)
    assert connection.in_atomic_block  # the test's transaction: the world is not committed
    result = indicators.compute_many(KINDS, OCT, as_of=AS_OF)
    assert set(spy.threads) == {threading.get_ident()} and len(spy.threads) == 11
    assert numbers(result)["unit"][str(world.u1.id)]["handling_due"] == (4, None)


def test_postgresql_connections_read_one_snapshot(committed, settings, monkeypatch):
    """A change committed while the statements run is seen by none of them (on SQLite each
    statement reads the last committed state: not guaranteed there)."""
    if connection.vendor != "postgresql":
        pytest.skip("one snapshot across connections is a PostgreSQL guarantee")
    from urbangrid.cases.models import Case

    connections_setting(settings, 2)
    before = numbers(indicators.compute_many(KINDS, OCT, as_of=AS_OF))
    fetch, changed = indicators._fetch, threading.Event()
    lock = threading.Lock()

    def change():  # on a third connection, committed at once
        try:
            Case.objects.update(handle_due_at=None, registered_at=None)
        finally:
            connections["default"].close()

    def fetch_after_a_change(conn, st):
        with lock:
            if not changed.is_set():
                worker = threading.Thread(target=change)
                worker.start()
                worker.join()
                changed.set()
        return fetch(conn, st)

    monkeypatch.setattr(indicators, "_fetch", fetch_after_a_change)
    during = numbers(indicators.compute_many(KINDS, OCT, as_of=AS_OF))
    assert changed.is_set() and during == before
    monkeypatch.setattr(indicators, "_fetch", fetch)
    assert numbers(indicators.compute_many(KINDS, OCT, as_of=AS_OF)) != before
