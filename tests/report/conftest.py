"""Fixtures of the report tests: real (stand-in scored) search runs on the tiny space of the search tests."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

from nasgen.cost import count_cost
from nasgen.search import search


def _search_fixtures():
    path = Path(__file__).resolve().parents[1] / "search" / "conftest.py"
    spec = importlib.util.spec_from_file_location("nasgen_tests_search_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tiny_space = _search_fixtures().tiny_space  # the search tests' space: 96 architectures at 32–48 px

BUDGET = 1_000_000  # MACs: some of the tiny space's architectures are over it


class NoisyMacsScore:
    """Stand-in scorer that reads as an accuracy: grows with MACs (0.1–0.5 on the tiny space), plus seeded noise."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def __call__(self, spec) -> float:
        return count_cost(spec).macs / 2e6 + self.rng.gauss(0.0, 0.01)


def make_run(
    out: Path, n_trials: int, *, sampler: str = "tpe", enqueue: tuple = (), budget: int = BUDGET, objective=None,
    **options,
) -> Path:
    """A search of ``n_trials`` on the tiny space, scored by :class:`NoisyMacsScore` unless ``objective`` is given;
    returns the run directory."""
    search(budget, space=tiny_space(), objective=objective or NoisyMacsScore(), n_trials=n_trials, out=out,
           timeout=None, sampler=sampler, enqueue=enqueue, **options)
    return out


@pytest.fixture(name="make_run")
def make_run_fixture():
    return make_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """30 trials with an enqueued baseline (over some infeasible samples)."""
    baseline = tiny_space().sample(3, name="tiny-baseline")
    return make_run(tmp_path_factory.mktemp("run") / "run", 30, enqueue=(baseline,))
