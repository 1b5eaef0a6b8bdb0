"""Case numbers are given by the database, as late as it can (see urbangrid/cases/numbering.py).

A case is inserted with a provisional number ``T<YYYYMMDD><random>`` naming the day whose counter
it draws from; a trigger replaces it with ``<YYYYMMDD><serial>``, the serial taken from that day's
row of CaseNumberSequence (created on the day's first case). Numbers stay gapless per day because
the counter is advanced inside the writing transaction: a rollback returns the number.

- PostgreSQL: a deferred constraint trigger, so the number is taken while the transaction
  commits. The day's counter row is then locked for the commit alone, not for the client's
  round trips between its UPDATE and COMMIT, during which every other intake of the city waited
  (28-48 of 50 backends, bench/cases/RESULTS.md).
- SQLite: an ordinary row trigger (its writers take turns anyway).
Rows inserted with a final number (bulk generators, imports) are left alone.
"""

from django.db import migrations

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION cases_give_case_number() RETURNS trigger AS $$
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
    "CREATE CONSTRAINT TRIGGER cases_case_number AFTER INSERT ON cases_case "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.number LIKE 'T%') "
    "EXECUTE FUNCTION cases_give_case_number()"
)
# SQLite stores a DateField as 'YYYY-MM-DD'.
SQLITE_DAY = "substr(NEW.number, 2, 4) || '-' || substr(NEW.number, 6, 2) || '-' || substr(NEW.number, 8, 2)"
SQLITE_TRIGGER = f"""
CREATE TRIGGER cases_case_number AFTER INSERT ON cases_case WHEN NEW.number LIKE 'T%'
BEGIN
  INSERT INTO cases_casenumbersequence (day, last) VALUES ({SQLITE_DAY}, 1)
  ON CONFLICT (day) DO UPDATE SET last = last + 1;
  UPDATE cases_case SET number = substr(NEW.number, 2, 8) || printf('%06d',
    (SELECT last FROM cases_casenumbersequence WHERE day = {SQLITE_DAY}))
  WHERE id = NEW.id;
END
"""


def create_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)  # None: their '%' are not placeholders
        schema_editor.execute(PG_TRIGGER, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER, params=None)
    else:
        raise NotImplementedError(f"case number trigger for {vendor}")


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS cases_case_number ON cases_case")
        schema_editor.execute("DROP FUNCTION IF EXISTS cases_give_case_number()")
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS cases_case_number")


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_index_diet")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
