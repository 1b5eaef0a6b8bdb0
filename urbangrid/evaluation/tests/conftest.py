import pytest

from .world import AS_OF, build_world


@pytest.fixture
def as_of(clock):
    """The world is a fixed October 2026: its tests run as of mid-November (``AS_OF``), whatever
    the test clock says."""
    clock.move_to(AS_OF)
    return AS_OF


@pytest.fixture
def world(db, as_of):
    return build_world()
