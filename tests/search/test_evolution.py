"""Regularized evolution sampler: random warm-up, one mutation per child, tournament, dormant genes."""

from __future__ import annotations

import math

import optuna
import pytest

from nasgen.search.samplers import RegularizedEvolutionSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _objective(trial: optuna.Trial) -> float:
    present = trial.suggest_categorical("present", [True, False])
    score = 0.0
    if present:
        score += trial.suggest_int("width", 8, 64, step=8) / 64
        score += {"a": 0.0, "b": 0.5, "c": 1.0}[trial.suggest_categorical("kind", ["a", "b", "c"])]
    score += trial.suggest_int("depth", 1, 4) / 4
    return score


def _study(population: int = 6, sample: int = 3, seed: int = 0) -> optuna.Study:
    sampler = RegularizedEvolutionSampler(population, sample, seed=seed)
    return optuna.create_study(direction="maximize", sampler=sampler)


def test_children_differ_from_their_parent_in_exactly_one_parameter() -> None:
    study = _study()
    study.optimize(_objective, n_trials=40)
    trials = study.trials
    assert all("nasgen:evolution_parent" not in t.system_attrs for t in trials[:6])  # random warm-up
    children = trials[6:]
    assert children
    for child in children:
        parent = trials[child.system_attrs["nasgen:evolution_parent"]]
        assert parent.number < child.number
        mutated = child.system_attrs["nasgen:evolution_mutate"]
        assert child.params[mutated] != parent.params[mutated]
        common = set(child.params) & set(parent.params) - {mutated}
        assert all(child.params[name] == parent.params[name] for name in common)


def test_parent_is_the_best_of_its_tournament_from_the_last_population() -> None:
    study = _study(population=6, sample=6)  # the tournament is the whole population: the best of the last 6
    study.optimize(_objective, n_trials=30)
    trials = study.trials
    for child in trials[6:]:
        parent = trials[child.system_attrs["nasgen:evolution_parent"]]
        window = [t for t in trials[: child.number] if t.state == optuna.trial.TrialState.COMPLETE][-6:]
        assert parent.value == max(t.value for t in window)


def test_climbs_to_the_optimum_of_a_separable_objective() -> None:
    study = _study(population=8, sample=4)
    study.optimize(_objective, n_trials=200)
    assert study.best_value == pytest.approx(3.0)  # width 64, kind c, depth 4, present


def test_a_stage_switched_back_on_returns_with_its_dormant_genes() -> None:
    study = _study(population=4, sample=1, seed=3)  # random parents: the stage switches off and on
    study.optimize(_objective, n_trials=150)
    revived = [
        t
        for t in study.trials
        if t.system_attrs.get("nasgen:evolution_mutate") == "present" and t.params["present"]
    ]
    assert revived, "no mutation switched the stage back on"
    for child in revived:
        parent = study.trials[child.system_attrs["nasgen:evolution_parent"]]
        genome = parent.system_attrs["nasgen:evolution_genome"]
        assert "width" not in parent.params
        assert child.params["width"] == genome["width"] and child.params["kind"] == genome["kind"]


def test_infeasible_minus_infinity_never_wins_a_tournament() -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_int("x", 0, 9)
        return -math.inf if x >= 5 else float(x)

    study = _study(population=6, sample=6)
    study.optimize(objective, n_trials=40)
    for child in study.trials[6:]:
        assert study.trials[child.system_attrs["nasgen:evolution_parent"]].params["x"] < 5 or all(
            t.value == -math.inf for t in study.trials[: child.number][-6:]
        )


@pytest.mark.parametrize(
    ("population", "sample", "match"),
    [(1, 1, "population_size"), (10, 0, "sample_size"), (10, 11, "sample_size")],
)
def test_bad_sizes(population: int, sample: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RegularizedEvolutionSampler(population, sample)


def test_multi_objective_studies_are_refused() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=RegularizedEvolutionSampler(2, 1))
    with pytest.raises(ValueError, match="single-objective"):
        study.optimize(lambda t: (t.suggest_int("x", 0, 3), 0.0), n_trials=1)


def test_search_accepts_the_evolution_sampler(tmp_path) -> None:
    from nasgen.search import search

    result = search(
        "2G", space="efficientnet-v1", objective=lambda spec: float(spec.head_channels), sampler="evolution",
        n_trials=60, seed=0, timeout=None, storage=optuna.storages.InMemoryStorage(), study_name="e", out=tmp_path,
    )
    assert len(result.study.trials) == 60
    assert result.best_value == max(t.value for t in result.study.trials)
    assert any("nasgen:evolution_parent" in t.system_attrs for t in result.study.trials[50:])
