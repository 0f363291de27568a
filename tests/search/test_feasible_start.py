"""The feasible start (issue 27, point 2): random startup trials drawn within the budget, the record kept honest."""

from __future__ import annotations

import math

import optuna
import pytest

from nasgen.cost import count_cost
from nasgen.runs import Run
from nasgen.search import search
from nasgen.search.objective import Limits, feasible_draw
from nasgen.search.samplers import FeasibleStartSampler, startup_trials
from nasgen.space import load_space


def _capacity(spec) -> float:
    return math.log10(count_cost(spec).macs)


def test_a_draw_is_within_the_limits_and_the_same_for_the_same_seed():
    space = load_space("efficientnet-v2")
    limits = Limits(budget_macs=400_000_000)
    params, draws, method = feasible_draw(space, limits, 7)
    assert method == "rejection" and draws >= 1
    assert count_cost(space.freeze(params)).macs <= 400_000_000
    assert feasible_draw(space, limits, 7) == (params, draws, method)
    assert feasible_draw(space, limits, 8)[0] != params


def test_a_region_too_small_to_hit_is_reached_by_the_walk_to_the_smallest():
    space = load_space("efficientnet-v2")
    smallest = count_cost(space.macs_extremes()[0]).macs
    budget = int(smallest * 1.05)  # a sliver above the smallest architecture
    params, draws, method = feasible_draw(space, Limits(budget_macs=budget), 0, max_draws=5)
    assert method == "shrink" and draws > 5
    assert count_cost(space.freeze(params)).macs <= budget


def test_startup_trials_of_each_sampler():
    from nasgen.search.samplers import make_sampler

    counts = {name: startup_trials(make_sampler(name, seed=0, n_existing=0, parallel=False)[0])
              for name in ("tpe", "random", "evolution", "nsga2")}  # fmt: skip
    assert counts == {"tpe": 10, "random": None, "evolution": 50, "nsga2": 20}


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_the_start_is_feasible_and_later_infeasible_samples_stay_recorded(sampler, tmp_path):
    space = load_space("efficientnet-v2")  # 1.2 % of it is within 400M
    n = 30
    result = search("400M", space=space, objective=_capacity, sampler=sampler, n_trials=n, seed=0, timeout=None,
                    storage=optuna.storages.InMemoryStorage(), out=tmp_path, feasible_start=True)  # fmt: skip
    trials = sorted(result.study.trials, key=lambda t: t.number)
    start = n if sampler == "random" else 10
    for t in trials[:start]:
        assert t.system_attrs["nasgen:feasible_draws"] >= 1, t.number
        assert t.state == optuna.trial.TrialState.COMPLETE and all(v <= 0 for v in t.constraints.values())
    for t in trials[start:]:
        assert "nasgen:feasible_draws" not in t.system_attrs
    records = {r.number: r for r in Run(result.study, out=tmp_path).records()}
    over = [t.number for t in trials if any(v > 0 for v in t.constraints.values())]
    assert all(records[k].state == "infeasible" for k in over)
    if sampler == "tpe":  # TPE, pushed to the budget's edge by a bigger-is-better score, oversteps: kept visible
        assert over and min(over) >= 10


def test_without_it_the_random_sampler_spends_most_trials_over_this_budget(tmp_path):
    space = load_space("efficientnet-v2")
    result = search("400M", space=space, objective=_capacity, sampler="random", n_trials=20, seed=0, timeout=None,
                    storage=optuna.storages.InMemoryStorage(), out=tmp_path, feasible_start=False)  # fmt: skip
    over = sum(any(v > 0 for v in t.constraints.values()) for t in result.study.trials)
    assert over >= 15  # ≈ 98.8 % of this space is over 400M
    assert not isinstance(result.study.sampler, FeasibleStartSampler)


def test_it_is_the_default():
    from nasgen.config import SearchConfig

    assert SearchConfig(budget="400M").feasible_start is True


def test_an_enqueued_trial_keeps_its_architecture(tmp_path):
    space = load_space("efficientnet-v1")
    result = search("100M", space=space, objective=_capacity, sampler="tpe", n_trials=3, seed=0, timeout=None,
                    storage=optuna.storages.InMemoryStorage(), out=tmp_path, feasible_start=True,
                    enqueue=["efficientnet-b0"])  # fmt: skip
    first = min(result.study.trials, key=lambda t: t.number)
    assert "nasgen:feasible_draws" not in first.system_attrs
    assert any(v > 0 for v in first.constraints.values())  # B0 (386M) over 100M: recorded infeasible, as asked
    assert isinstance(result.study.sampler, FeasibleStartSampler)
