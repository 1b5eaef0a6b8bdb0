"""Input types for the API whose bounds are those of the database and of Python's calendar.

A plain ``int`` takes 99999999999999999999 (past bigint: SQLite's driver raises), a plain
``float`` takes nan and inf (arithmetic and rounding raise), a plain ``datetime`` takes
9999-12-31T23:59:59Z (converting it to local time or adding a deadline overflows) and an offset
of +17:00 (PostgreSQL accepts ±15:59 at most). Every request parameter and body field of the API
uses these instead; the integer bounds are in the published schema.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from django.utils.translation import gettext as _
from pydantic import AfterValidator, Field

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
# Wide enough for any record, narrow enough that a year of deadlines or a time zone fits.
EARLIEST = date(1900, 1, 1)
LATEST = date(9000, 1, 1)
MAX_UTC_OFFSET = timedelta(hours=16)  # exclusive: PostgreSQL's limit is ±15:59


def check_day(value: date) -> date:
    if not EARLIEST <= value < LATEST:
        raise ValueError(_("The date must be between %(a)s and %(b)s.") % {"a": EARLIEST, "b": LATEST})
    return value


def check_moment(value: datetime) -> datetime:
    offset = value.utcoffset()
    if offset is not None and abs(offset) >= MAX_UTC_OFFSET:
        raise ValueError(_("The UTC offset must be between -15:59 and +15:59."))
    # The local date, not UTC: converting 0001-01-01T00:00+01:00 to UTC overflows itself.
    if not EARLIEST <= value.date() < LATEST:
        raise ValueError(_("The date must be between %(a)s and %(b)s.") % {"a": EARLIEST, "b": LATEST})
    return value


Int = Annotated[int, Field(ge=BIGINT_MIN, le=BIGINT_MAX)]
Float = Annotated[float, Field(allow_inf_nan=False)]
Day = Annotated[date, AfterValidator(check_day)]
Moment = Annotated[datetime, AfterValidator(check_moment)]
