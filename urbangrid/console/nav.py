"""The console navigation, built per role. Links to other apps' ``<app>:index`` pages appear as
soon as those apps define them (a missing URL name is skipped, not an error)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from urbangrid.lib.access import scope_for
from urbangrid.lib.roles import Role

R = Role
LEADERS = (R.STREET_LEADER, R.DISTRICT_LEADER, R.CITY_LEADER)
CENTRE = (R.INTAKE_OPERATOR, R.SHIFT_LEADER, R.DISPATCHER)
UNIT = (R.UNIT_HANDLER, R.UNIT_LEADER)
FIELD = (R.GRID_WORKER, R.ENFORCEMENT_OFFICER)


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    url: str


# (key, label, url name, kwargs/query, roles allowed; None = every staff member). ADMIN sees all.
ITEMS = [
    ("home", _("Home"), "console:home", "", None),
    ("map", _("Command map"), "console:map", "", (*CENTRE, *LEADERS, R.UNIT_LEADER)),
    ("queues", _("Work queues"), "console:queues", "", (*CENTRE, *UNIT)),
    ("intake", _("Hotline intake"), "console:intake", "", (R.INTAKE_OPERATOR, R.SHIFT_LEADER)),
    ("mobile", _("Field (mobile)"), "console:mobile_home", "", FIELD),
    ("dashboard", _("Dashboards"), "console:dashboard", "", (*CENTRE, *LEADERS, R.UNIT_LEADER)),
    ("grids", pgettext_lazy("nav", "Grids"), "console:grids", "", (R.SHIFT_LEADER, *LEADERS)),
    ("patrol", _("Patrol"), "patrol:index", "", (*FIELD, R.SHIFT_LEADER, *LEADERS)),
    ("joint", _("Joint enforcement"), "joint:index", "", (R.DISPATCHER, R.SHIFT_LEADER, *UNIT, *LEADERS)),
    ("credit", _("Credit"), "credit:index", "", (R.ENFORCEMENT_OFFICER, R.UNIT_LEADER, *LEADERS)),
    (
        "evaluation",
        _("Evaluation"),
        "evaluation:index",
        "",
        (R.SHIFT_LEADER, R.DISPATCHER, R.UNIT_LEADER, *LEADERS),
    ),
    ("orgs", _("People and units"), "orgs:index", "", (*LEADERS,)),
    ("catalog", _("Classes"), "catalog:index", "", (R.SHIFT_LEADER, R.DISPATCHER)),
]

# Where each role lands after signing in, in order of precedence for people with several roles.
HOME_BY_ROLE = [
    (R.INTAKE_OPERATOR, "console:queue", "intake"),
    (R.SHIFT_LEADER, "console:queue", "register"),
    (R.DISPATCHER, "console:queue", "dispatch"),
    (R.UNIT_HANDLER, "console:queue", "handle"),
    (R.UNIT_LEADER, "console:queue", "handle"),
    (R.GRID_WORKER, "console:mobile_home", None),
    (R.ENFORCEMENT_OFFICER, "console:mobile_home", None),
    (R.CITY_LEADER, "console:dashboard", None),
    (R.DISTRICT_LEADER, "console:dashboard", None),
    (R.STREET_LEADER, "console:dashboard", None),
    (R.ADMIN, "console:map", None),
]


def _reverse(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def home_url(user) -> str | None:
    """The page the user's main role works on, or None (no role: the plain welcome page)."""
    scope = scope_for(user)
    for role, name, arg in HOME_BY_ROLE:
        if role in scope.roles:
            return reverse(name, args=[arg]) if arg else reverse(name)
    return None


def build_nav(user) -> list[NavItem]:
    scope = scope_for(user)
    admin = R.ADMIN in scope.roles
    out = []
    for key, label, name, _q, roles in ITEMS:
        if roles is not None and not admin and not scope.roles.intersection(roles):
            continue
        url = _reverse(name)
        if url is None:
            continue
        out.append(NavItem(key, str(label), url))
    return out
