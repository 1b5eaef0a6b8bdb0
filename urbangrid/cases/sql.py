"""The case-numbering trigger (see numbering.py), installed by migration 0006.

A case is inserted with a provisional number ``T<YYYYMMDD><random>`` naming the day whose counter
it draws from; the trigger replaces it with ``<YYYYMMDD><serial>``, the serial taken from that day's
row of CaseNumberSequence (created on the day's first case). Numbers stay gapless per day because
the counter is advanced inside the writing transaction: a rollback returns the number.

- PostgreSQL: a deferred constraint trigger, so the number is taken while the transaction
  commits. The day's counter row is then locked for the commit alone, not for the client's
  round trips between its UPDATE and COMMIT, during which every other intake of the city waited
  (28-48 of 50 backends, bench/cases/RESULTS.md).
- SQLite: an ordinary row trigger (its writers take turns anyway).
Rows inserted with a final number (bulk generators, imports) are left alone.

The statements hold '%' (LIKE patterns): run them without parameters (``execute(sql, None)``).
"""

from __future__ import annotations

TRIGGER = "cases_case_number"
FUNCTION = "cases_give_case_number"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$
DECLARE
  day_code text := substr(NEW.number, 2, 8);
  serial bigint;
BEGIN
  INSERT INTO cases_casenumbersequence AS s (day, last) VALUES (to_date(day_code, 'YYYYMMDD'), 1)
  ON CONFLICT (day) DO UPDATE SET last = s.last + 1
  RETURNING s.last INTO serial;
  UPDATE cases_case SET number = day_code || lpad(serial::text, greatest(6, length(serial::text)), '0')
  WHERE id = NEW.id;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""
PG_TRIGGER = (
    f"CREATE CONSTRAINT TRIGGER {TRIGGER} AFTER INSERT ON cases_case "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.number LIKE 'T%') "
    f"EXECUTE FUNCTION {FUNCTION}()"
)
# SQLite stores a DateField as 'YYYY-MM-DD'.
SQLITE_DAY = "substr(NEW.number, 2, 4) || '-' || substr(NEW.number, 6, 2) || '-' || substr(NEW.number, 8, 2)"
SQLITE_TRIGGER = f"""
CREATE TRIGGER {TRIGGER} AFTER INSERT ON cases_case WHEN NEW.number LIKE 'T%'
BEGIN
  INSERT INTO cases_casenumbersequence (day, last) VALUES ({SQLITE_DAY}, 1)
  ON CONFLICT (day) DO UPDATE SET last = last + 1;
  UPDATE cases_case SET number = substr(NEW.number, 2, 8) || printf('%06d',
    (SELECT last FROM cases_casenumbersequence WHERE day = {SQLITE_DAY}))
  WHERE id = NEW.id;
END
"""


def create_numbering(vendor: str) -> list[str]:
    """The statements that install the numbering trigger on ``vendor``."""
    if vendor == "postgresql":
        return [PG_FUNCTION, PG_TRIGGER]
    if vendor == "sqlite":
        return [SQLITE_TRIGGER]
    raise NotImplementedError(f"case number trigger for {vendor}")


def drop_numbering(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {TRIGGER} ON cases_case", f"DROP FUNCTION IF EXISTS {FUNCTION}()"]
    return [f"DROP TRIGGER IF EXISTS {TRIGGER}"]
