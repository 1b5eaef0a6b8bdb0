"""Open311 service-definition attributes per problem class, and the validation of submitted
``attribute[code]`` values against them.

A class's attributes are its ServiceAttribute rows (edited in the admin); a class without rows
gets built-in defaults chosen by the kind of problem its name describes (parking → vehicle kind
and plate, stalls → stall type and goods, ...), so a fresh catalogue is useful at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, gettext_lazy, pgettext

from .choices import AttributeDatatype as DT


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str
    description: str
    required: bool = False
    order: int = 1
    variable: bool = True
    datatype_description: str = ""
    values: tuple[tuple[str, str], ...] = field(default=())

    def as_dict(self) -> dict:
        body = {
            "variable": self.variable,
            "code": self.code,
            "datatype": self.datatype,
            "required": self.required,
            "datatype_description": str(self.datatype_description) or None,
            "order": self.order,
            "description": str(self.description),
        }
        if self.datatype in (DT.SINGLEVALUELIST, DT.MULTIVALUELIST):
            body["values"] = [{"key": k, "name": str(n)} for k, n in self.values]
        return body


_ = gettext_lazy  # the defaults below are translated when rendered

PLATE = Attribute(
    "plate_number",
    DT.STRING,
    _("Plate number (if visible)"),
    order=2,
    datatype_description=_("e.g. 示A12345"),
)
MOTOR_KIND = Attribute(
    "vehicle_kind",
    DT.SINGLEVALUELIST,
    _("Kind of vehicle"),
    required=True,
    order=1,
    values=(("car", _("Car")), ("truck", _("Truck or bus")), ("motorcycle", _("Motorcycle"))),
)
BIKE_KIND = Attribute(
    "vehicle_kind",
    DT.SINGLEVALUELIST,
    _("Kind of vehicle"),
    required=True,
    order=1,
    values=(
        ("ebike", _("E-bike")),
        ("bicycle", _("Bicycle")),
        ("shared_bike", _("Shared bicycle")),
        ("tricycle", _("Tricycle")),
    ),
)
BIKE_COUNT = Attribute("vehicle_count", DT.NUMBER, _("About how many vehicles"), order=2)
BLOCKING = Attribute(
    "blocking",
    DT.MULTIVALUELIST,
    _("What does it block"),
    order=3,
    values=(
        ("sidewalk", _("Sidewalk")),
        ("tactile_paving", _("Tactile paving")),
        ("fire_lane", _("Fire lane")),
        ("entrance", _("Entrance or exit")),
        ("bus_stop", _("Bus stop")),
    ),
)
STALL_TYPE = Attribute(
    "stall_type",
    DT.SINGLEVALUELIST,
    _("Type of stall"),
    required=True,
    order=1,
    values=(
        ("food", _("Cooked food")),
        ("produce", _("Fruit and vegetables")),
        ("goods", _("Daily goods")),
        ("vehicle", _("Selling from a vehicle")),
        ("other", _("Other")),
    ),
)
STALL_GOODS = Attribute("goods", DT.STRING, _("What is sold"), order=2)
SEEN_AT = Attribute(
    "seen_at",
    DT.DATETIME,
    _("When was it seen"),
    order=3,
    datatype_description=_("ISO 8601, e.g. 2026-05-01T18:30:00+08:00"),
)
GARBAGE_VOLUME = Attribute(
    "volume",
    DT.SINGLEVALUELIST,
    _("How much"),
    order=1,
    values=(("small", _("A few bags")), ("medium", _("A pile")), ("large", _("A truck load or more"))),
)
BUILDING_AREA = Attribute("area_m2", DT.NUMBER, _("Estimated area (m²)"), order=1)
BUILDING_STAGE = Attribute(
    "stage",
    DT.SINGLEVALUELIST,
    _("Construction stage"),
    order=2,
    values=(
        ("starting", _("Just started")),
        ("building", _("Being built")),
        ("finished", pgettext("construction", "Finished")),
    ),
)
_ = gettext  # noqa: F811  (runtime messages below)

# (pattern on the class name, attributes); the first match wins.
DEFAULTS: list[tuple[re.Pattern, tuple[Attribute, ...]]] = [
    (re.compile(r"(非机动车|单车|电动车|自行车).*(停|放)"), (BIKE_KIND, BIKE_COUNT, BLOCKING)),
    (re.compile(r"(机动车|摩托车|车辆).*乱?停放|违停"), (MOTOR_KIND, PLATE, BLOCKING)),
    (re.compile(r"游商|摊|占道经营|店外经营|流动"), (STALL_TYPE, STALL_GOODS, SEEN_AT)),
    (re.compile(r"暴露垃圾|积存垃圾|垃圾满溢|渣土|乱倒"), (GARBAGE_VOLUME,)),
    (re.compile(r"私搭乱建|违法建设|违章建筑|违建"), (BUILDING_AREA, BUILDING_STAGE)),
]


def default_attributes(name: str) -> tuple[Attribute, ...]:
    for pattern, attrs in DEFAULTS:
        if pattern.search(name or ""):
            return attrs
    return ()


def from_row(row) -> Attribute:
    return Attribute(
        code=row.code,
        datatype=row.datatype,
        description=row.description,
        required=row.required,
        order=row.order,
        variable=row.variable,
        datatype_description=row.datatype_description,
        values=tuple((str(v.get("key", "")), str(v.get("name", ""))) for v in (row.values or [])),
    )


def attributes_for(problem_class, rows=None) -> list[Attribute]:
    """The class's attributes in order. ``rows`` may be prefetched ServiceAttribute rows."""
    if rows is None:
        rows = list(problem_class.open311_attributes.all())
    attrs = [from_row(r) for r in rows] if rows else list(default_attributes(problem_class.name))
    return sorted(attrs, key=lambda a: (a.order, a.code))


class _Refused(Exception):
    """A submitted attribute value that does not fit its definition; the message says why."""


def _not_one_of(a: Attribute, value: str, keys) -> _Refused:
    return _Refused(
        _("attribute[%(code)s]: %(value)s is not one of %(keys)s")
        % {"code": a.code, "value": value, "keys": ", ".join(sorted(keys))}
    )


def _list_value(a: Attribute, value: str):
    keys = {k for k, _n in a.values}
    if value not in keys:
        raise _not_one_of(a, value, keys)
    return value


def _number_value(a: Attribute, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if number != number or number in (float("inf"), float("-inf")):
        raise _Refused(_("attribute[%(code)s] must be a number") % {"code": a.code})
    return number


def _datetime_value(a: Attribute, value: str) -> str:
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _Refused(
            _("attribute[%(code)s] must be an ISO 8601 date and time with a time zone") % {"code": a.code}
        )
    return moment.isoformat()


def _text_value(a: Attribute, value: str) -> str:
    limit = 200 if a.datatype == DT.STRING else 4000
    if len(value) > limit:
        raise _Refused(
            _("attribute[%(code)s] is longer than %(limit)d characters") % {"code": a.code, "limit": limit}
        )
    return value


# How one value of each single-valued datatype is checked and cleaned (any other is text).
_SINGLE_VALUE = {
    DT.SINGLEVALUELIST: _list_value,
    DT.NUMBER: _number_value,
    DT.DATETIME: _datetime_value,
}


def _clean_values(a: Attribute, raw: list[str]):
    """The clean value of one attribute from its non-empty raw strings; raises _Refused."""
    if a.datatype == DT.MULTIVALUELIST:
        keys = {k for k, _n in a.values}
        bad = [v for v in raw if v not in keys]
        if bad:
            raise _not_one_of(a, ", ".join(bad), keys)
        return list(dict.fromkeys(raw))
    if len(raw) > 1:
        raise _Refused(_("attribute[%(code)s] takes one value") % {"code": a.code})
    return _SINGLE_VALUE.get(a.datatype, _text_value)(a, raw[0])


def validate(attrs: list[Attribute], submitted: dict[str, list[str]]) -> tuple[dict, list[str]]:
    """Check submitted values (code → list of raw strings) against the definition.

    Returns (clean values keyed by code, error messages). Unknown codes are ignored, as a
    client built against an older definition must still be able to report."""
    clean: dict = {}
    errors: list[str] = []
    for a in attrs:
        raw = [v.strip() for v in submitted.get(a.code, []) if v is not None and v.strip() != ""]
        if not raw:
            if a.required:
                errors.append(
                    _("attribute[%(code)s] is required: %(q)s") % {"code": a.code, "q": a.description}
                )
            continue
        try:
            clean[a.code] = _clean_values(a, raw)
        except _Refused as exc:
            errors.append(str(exc))
    return clean, errors
