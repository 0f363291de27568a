"""Fixtures of the search tests: a tiny search space (96 architectures) and stand-in scorers."""

from __future__ import annotations

import os
import uuid

import pytest

from nasgen.runs.storage import display_url
from nasgen.space import Choice, IntRange, SearchSpace, StageSpace, StemSpace
from nasgen.spec import ArchSpec


def tiny_space() -> SearchSpace:
    """Three MBConv stages at 32–48 px; the third stage is optional. 4·(2·2)·(3·2)... see ``size()``."""
    return SearchSpace(
        name="tiny",
        resolution_px=Choice([32, 48]),
        stem=StemSpace(out_channels=8),
        stages=[
            StageSpace(
                num_layers=IntRange(1, 2),
                kernel_size=Choice([3, 5]),
                stride=1,
                expand_ratio=1,
                out_channels=8,
                se_ratio=0.25,
            ),
            StageSpace(
                num_layers=1,
                kernel_size=3,
                stride=2,
                expand_ratio=Choice([3, 6]),
                out_channels=Choice([16, 24]),
                se_ratio=0.25,
            ),
            StageSpace(
                num_layers=1,
                kernel_size=Choice([3, 5]),
                stride=2,
                expand_ratio=6,
                out_channels=32,
                se_ratio=0.25,
                optional=True,
            ),
        ],
        head_channels=64,
        num_classes=10,
        in_channels=1,
        dropout=0.0,
        drop_path_rate=0.0,
    )


@pytest.fixture(scope="session")
def postgres_admin_url():
    """The URL of a reachable PostgreSQL server (``$NASGEN_TEST_POSTGRES_URL``), or skip saying why not."""
    url = os.environ.get("NASGEN_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL server: NASGEN_TEST_POSTGRES_URL is not set (.ci/run starts one on 127.0.0.1)")
    try:
        import psycopg
    except ImportError:
        pytest.skip("psycopg (the driver of postgresql:// URLs) is not installed: pip install 'nasgen[postgres]'")
    try:
        psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=5).close()
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL at {display_url(url)} is unreachable: {str(exc).strip().splitlines()[0]}")
    return url


@pytest.fixture
def postgres_database(postgres_admin_url) -> str:
    """The URL of a new, empty database on the test server (skips without one)."""
    return _fresh_database(postgres_admin_url)


def _fresh_database(admin_url: str) -> str:
    import psycopg

    name = f"nasgen_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return admin_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def space() -> SearchSpace:
    return tiny_space()


def macs_score(spec: ArchSpec) -> float:
    """Stand-in scorer: more MACs score higher (so the budget is what stops the search)."""
    from nasgen.cost import count_cost

    return count_cost(spec).macs / 1e6


@pytest.fixture(name="macs_score")
def macs_score_fixture():
    return macs_score
