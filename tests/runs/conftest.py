"""Fixtures of the run tests: the search tests' tiny space, stand-in scorer and PostgreSQL database."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _search_fixtures():
    path = Path(__file__).resolve().parents[1] / "search" / "conftest.py"
    spec = importlib.util.spec_from_file_location("nasgen_tests_search_fixtures_runs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_fixtures = _search_fixtures()
tiny_space = _fixtures.tiny_space
postgres_admin_url = _fixtures.postgres_admin_url
postgres_database = _fixtures.postgres_database
space = _fixtures.space
macs_score = _fixtures.macs_score_fixture
