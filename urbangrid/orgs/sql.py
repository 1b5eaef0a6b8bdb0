"""The scope-generation triggers (see models.ScopeGeneration), installed by migrations 0003 and 0004.

Every change to a table a Scope is built from gives ``orgs_scopegeneration.value`` a new random
value in the writing transaction; each process keeps its cached scopes only while the value it
read is still current, so a role, grid or secondment change reaches every process at its next
request. PostgreSQL fires one statement-level trigger per table; SQLite has row-level triggers
only, one per event.
"""

from __future__ import annotations

FUNCTION = "orgs_new_scope_generation"

# Tables a Scope is built from (see jurisdiction._compute_scope) and the events that change them.
# auth_user matters only for its superuser/active flags (logins write last_login and must not
# empty every cached scope).
SCOPE_TABLES = (
    ("orgs_person", "INSERT OR UPDATE OR DELETE"),
    ("orgs_roleassignment", "INSERT OR UPDATE OR DELETE"),
    ("orgs_gridassignment", "INSERT OR UPDATE OR DELETE"),
    ("orgs_secondment", "INSERT OR UPDATE OR DELETE"),
    ("geo_region", "INSERT OR UPDATE OR DELETE"),
    ("auth_user", "INSERT OR UPDATE OF is_superuser, is_active OR DELETE"),
)
# API tokens: token authentication keeps what a token stands for per process under the
# generation, so revoking a token (or moving it to another person, or deleting it) must give the
# generation a new value. Not on INSERT (a new token is not cached yet) nor on last_used_at
# (written once a minute per device).
TOKEN_TABLES = (("orgs_apitoken", "UPDATE OF key_hash, revoked_at, person_id OR DELETE"),)

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$
BEGIN
  INSERT INTO orgs_scopegeneration (id, value) VALUES (1, floor(random() * 9.0e18)::bigint)
  ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""
SQLITE_UPSERT = (
    "INSERT INTO orgs_scopegeneration (id, value) VALUES (1, random()) "
    "ON CONFLICT (id) DO UPDATE SET value = excluded.value;"
)
FIRST_GENERATION = "INSERT INTO orgs_scopegeneration (id, value) VALUES (1, 1)"


def _sqlite_events(events: str) -> list[tuple[str, str]]:
    """(trigger name suffix, event) per event of ``events``: 'UPDATE OF a, b' -> ('update', ...)."""
    return [(event.split()[0].lower(), event) for event in events.split(" OR ")]


def create_generation_triggers(vendor: str, tables) -> list[str]:
    """The statements giving the generation a new value on ``tables`` ((table, events) pairs)."""
    if vendor == "postgresql":
        return [PG_FUNCTION] + [
            f"CREATE TRIGGER {table}_scope_generation AFTER {events} OR TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
            for table, events in tables
        ]
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER {table}_scope_generation_{name} AFTER {event} ON {table} BEGIN {SQLITE_UPSERT} END"
            for table, events in tables
            for name, event in _sqlite_events(events)
        ]
    raise NotImplementedError(f"scope generation triggers for {vendor}")


def drop_generation_triggers(vendor: str, tables) -> list[str]:
    if vendor == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {table}_scope_generation ON {table}" for table, _ in tables]
    return [
        f"DROP TRIGGER IF EXISTS {table}_scope_generation_{name}"
        for table, events in tables
        for name, _ in _sqlite_events(events)
    ]


def drop_generation_function(vendor: str) -> list[str]:
    return [f"DROP FUNCTION IF EXISTS {FUNCTION}()"] if vendor == "postgresql" else []
