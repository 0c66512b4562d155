"""Fixtures shared by the portal's unit tests."""

import pytest

from portal import evolve
from portal.demo import load_demo_tree, load_divisions
from portal.resources import Site


@pytest.fixture
def site():
    """An in-memory site (no storage) with Beijing's divisions and the demo tree."""
    site = Site()
    evolve.evolve(site)
    load_divisions(site)
    load_demo_tree(site)
    return site
