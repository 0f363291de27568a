"""Fixtures of the space tests."""

from __future__ import annotations

import pytest
from space_tiny import TINY_YAML

from nasgen.space import SearchSpace, loads_space


@pytest.fixture()
def tiny() -> SearchSpace:
    return loads_space(TINY_YAML, file="tiny.yaml")
