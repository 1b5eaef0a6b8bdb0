"""The case list's filters, declared once.

``CaseFilter`` is what ``GET /api/v1/cases/`` takes as query parameters; ``QueueFilter`` adds the
words of the console's filter forms (queues and map), which read the page's query string. Both
answer a ``Q`` for ``Case`` rows (the caller starts from ``visible_to(user)``, rule 5), and a value
that names nothing (an unknown state, area or class) is a 400 with its ``field`` (rule 8).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, FilterLookup, FilterSchema
from pydantic import PrivateAttr, ValidationError

from urbangrid.catalog.cache import active_classes
from urbangrid.catalog.choices import LETTER_KINDS
from urbangrid.geo.models import Region
from urbangrid.lib.bounds import Moment
from urbangrid.lib.errors import InvalidInput

from .choices import OPEN_STATES, CaseState

# The column of a region's level (2 district, 3 street/town, 4 community).
REGION_COLUMNS = {2: "district_id", 3: "street_id", 4: "community_id"}
GRID_CODE_LENGTH = 15


def overdue_q(now: datetime) -> Q:
    """Open cases past their current step's deadline."""
    return Q(due_at__lte=now, state__in=OPEN_STATES)


def warning_q(now: datetime) -> Q:
    """Open cases past the warning time but not yet overdue."""
    return Q(warn_at__lte=now, due_at__gt=now, state__in=OPEN_STATES)


# The API documents these parameters on GET /api/v1/cases/.
class CaseFilter(FilterSchema):
    state: str | None = None  # a comma list of states; "open" = every open state
    class_code: str | None = None  # a class key (E06001) or a code naming one class
    area: str | None = None  # a district, street/town, community or grid code
    unit: Annotated[str | None, FilterLookup("assigned_unit__code")] = None  # the assigned unit's code
    overdue: bool | None = None
    warning: bool | None = None
    date_from: Annotated[Moment | None, FilterLookup("reported_at__gte")] = None
    date_to: Annotated[Moment | None, FilterLookup("reported_at__lt")] = None
    q: str | None = None  # a number's beginning, or text in the description or address

    # The moment "overdue" and "warning" are measured at, taken once for all the filters.
    _now: datetime = PrivateAttr(default_factory=timezone.now)

    # FilterSchema calls every filter_* method, None included; None means "not asked".
    def filter_state(self, value: str | None) -> Q:
        if not value:
            return Q()
        states = [s for s in value.split(",") if s]
        if "open" in states:
            states = [s for s in states if s != "open"] + list(OPEN_STATES)
        bad = [s for s in states if s not in CaseState.values]
        if bad:
            raise InvalidInput(_("Unknown state %(s)s.") % {"s": bad[0]}, field="state")
        return Q(state__in=states)

    def filter_class_code(self, value: str | None) -> Q:
        return Q(problem_class=active_classes().resolve(value, None, None)) if value else Q()

    def filter_area(self, value: str | None) -> Q:

        if not value:
            return Q()
        region = Region.objects.filter(code=value).only("level").first()
        if region is None:
            raise InvalidInput(_("Unknown area %(c)s.") % {"c": value}, field="area")
        column = REGION_COLUMNS.get(region.level)
        if column:
            return Q(**{column: region.id})
        return Q(grid_code=value) if len(value) == GRID_CODE_LENGTH else Q()

    def filter_overdue(self, value: bool | None) -> Q:
        return _either(overdue_q(self._now), value)

    def filter_warning(self, value: bool | None) -> Q:
        return _either(warning_q(self._now), value)

    def filter_q(self, value: str | None) -> Q:
        if not value:
            return Q()
        text = value.strip()
        return Q(number__startswith=text) | Q(description__icontains=text) | Q(address__icontains=text)


class QueueFilter(CaseFilter):
    """The console's filter forms: a class, street and community picked from lists, days typed in a
    date field (a day that does not parse is ignored, as the browser sends what was typed)."""

    class_: str | None = Field(None, alias="class")  # a class key, a class code or a major code
    street: Annotated[str | None, FilterLookup("street__code")] = None
    community: Annotated[str | None, FilterLookup("community__code")] = None
    since: str | None = None  # YYYY-MM-DD
    until: str | None = None  # YYYY-MM-DD, included
    deadline: str | None = None  # "overdue" or "warning"

    @classmethod
    def from_params(cls, params: dict) -> QueueFilter | None:
        """The filter a page's query string asks for; None when a value is not one the form offers."""
        try:
            return cls.model_validate({k: v for k, v in params.items() if v not in ("", None)})
        except ValidationError:
            return None

    def filter_class_(self, value: str | None) -> Q:
        if not value:
            return Q()
        kind = LETTER_KINDS.get(value[:1].upper())
        if kind is not None:  # a class key (E06001)
            return Q(problem_class__kind=kind, problem_class__code=value[1:])
        if len(value) <= 2:  # a major code names every class in it
            return Q(problem_class__code=value) | Q(problem_class__major_code=value)
        return Q(problem_class__code=value)

    def filter_since(self, value: str | None) -> Q:
        day = _day(value)
        return Q(reported_at__gte=day) if day else Q()

    def filter_until(self, value: str | None) -> Q:
        day = _day(value)
        return Q(reported_at__lt=day + timedelta(days=1)) if day else Q()

    def filter_deadline(self, value: str | None) -> Q:
        conditions = {"overdue": overdue_q, "warning": warning_q}
        return conditions[value](self._now) if value in conditions else Q()


def _either(condition: Q, wanted: bool | None) -> Q:
    """The rows meeting ``condition`` (True), the others (False), or all (None)."""
    if wanted is None:
        return Q()
    return condition if wanted else ~condition


def _day(value: str | None) -> datetime | None:
    """The start of a local day typed as YYYY-MM-DD (anything after the date is ignored)."""
    try:
        return timezone.make_aware(datetime.strptime(str(value)[:10], "%Y-%m-%d")) if value else None
    except ValueError:
        return None


__all__ = ["CaseFilter", "QueueFilter", "overdue_q", "warning_q"]
