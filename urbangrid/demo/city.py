"""The whole demo city: geography, catalogue, organisation, then the simulated histories."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from urbangrid.catalog.seed import load_catalog
from urbangrid.demo import cases, credit, joint, patrol
from urbangrid.demo.geo import build_demo_geography
from urbangrid.demo.orgs import build_demo_orgs

# Each history runs through its own actions on the cases before it: patrol's hazards and joint's
# consultations become cases, credit records come from cases.
HISTORIES = (
    ("case", cases.build_history),
    ("patrol", patrol.build_history),
    ("joint enforcement", joint.build_history),
    ("credit", credit.build_history),
)


def _quiet(*parts, **kw) -> None:
    pass


@transaction.atomic
def build_demo_city(seed: int, scale: str, progress=_quiet):
    progress(f"geography (seed {seed}, scale {scale})")
    build_demo_geography(seed=seed, scale=scale, progress=progress)
    progress("catalogue and calendar")
    load_catalog()
    return build_demo_orgs(seed=seed, scale=scale, progress=progress)


def build_histories(days: int, seed: int, end: datetime, progress=_quiet) -> None:
    for name, build in HISTORIES:
        progress(f"{name} history: {days} days")
        build(days=days, seed=seed, progress=progress, end=end)
