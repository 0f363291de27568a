"""Regularized evolution as an Optuna sampler (Real et al., 2019, "Regularized Evolution for Image
Classifier Architecture Search", §2 and Algorithm 1 — the search behind AmoebaNet).

The population is the ``population_size`` most recently finished trials (aging: the oldest member dies as a
new one is born, whatever its score). Each new trial draws ``sample_size`` members of the population at
random, takes the best as its parent, copies the parent's parameters and mutates exactly one of them to a
different value. Until the study has ``population_size`` finished trials, parameters are drawn at random.

It works on any nasgen search space through ``sample_independent`` only. Conditional dimensions are kept as
dormant genes: every trial stores its genome (its parameters plus the dormant values it inherited), so when a
mutation flips ``stages.<i>.present`` back to true the stage comes back as the ancestor had it rather than
at random — otherwise a removed stage could only return with all of its dimensions redrawn at once.
Because a parent differs from its child in one dimension, the sampler hill-climbs reliably on objectives where
dimensions matter one at a time, which is where TPE's joint sampling struggles to make the last few
dimensions exact (``tests/search/test_rediscovery.py``).

Infeasible trials (over budget; nasgen records them PRUNED with positive constraint values) stay in the
population, as the samples they are, and lose every tournament.
The state lives in the study (trial parameters and two system attributes per trial), so workers sharing one
study on an RDB storage evolve one population.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

__all__ = ["RegularizedEvolutionSampler"]

_PARENT = "nasgen:evolution_parent"
_MUTATE = "nasgen:evolution_mutate"
_GENOME = "nasgen:evolution_genome"


class RegularizedEvolutionSampler(optuna.samplers.BaseSampler):
    """Aging evolution with tournament selection and one-parameter mutations (single objective).

    Args:
        population_size: P, the number of most recent finished trials that form the population
            (Real et al. use 100 on large budgets; smaller P hill-climbs faster on small ones).
        sample_size: S, tournament size: the parent is the best of S members drawn without replacement.
        seed: Seed of the tournament draws, the mutated parameter and the random values.

    Raises:
        ValueError: ``population_size`` < 2, ``sample_size`` < 1 or ``sample_size`` > ``population_size``;
            or (at the first trial) a multi-objective study.
    """

    def __init__(self, population_size: int = 50, sample_size: int = 10, seed: int | None = None) -> None:
        if population_size < 2:
            raise ValueError(f"population_size must be at least 2, got {population_size}")
        if not 1 <= sample_size <= population_size:
            raise ValueError(f"sample_size must be in [1, population_size={population_size}], got {sample_size}")
        self.population_size = population_size
        self.sample_size = sample_size
        self._seed = seed
        self._rng = np.random.RandomState(seed)
        self._random = optuna.samplers.RandomSampler(seed=seed)

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._random.reseed_rng()

    # -- relative sampling is not used: every parameter is copied or mutated one by one ------------------------
    def infer_relative_search_space(self, study, trial) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(self, study, trial, search_space) -> dict[str, Any]:
        return {}

    # -- selection ---------------------------------------------------------------------------------------
    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if len(study.directions) != 1:
            raise ValueError("RegularizedEvolutionSampler supports single-objective studies only")
        finished = [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
            if t.state == TrialState.COMPLETE or _infeasible(t)
        ]
        if len(finished) < self.population_size:
            return
        population = sorted(finished, key=lambda t: t.number)[-self.population_size :]
        picks = self._rng.choice(len(population), size=self.sample_size, replace=False)
        sign = 1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1.0
        parent = max((population[i] for i in picks), key=lambda t: _fitness(t, sign))
        if not parent.params:
            return
        labels = sorted(parent.params)
        study._storage.set_trial_system_attr(trial._trial_id, _PARENT, parent.number)
        study._storage.set_trial_system_attr(trial._trial_id, _MUTATE, labels[self._rng.randint(len(labels))])

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        parent_number = trial.system_attrs.get(_PARENT)
        if parent_number is None:
            return self._random.sample_independent(study, trial, param_name, param_distribution)
        parent = study._storage.get_trial(study._storage.get_trial_id_from_study_id_trial_number(
            study._study_id, parent_number
        ))
        if param_name in parent.params:
            value = parent.params[param_name]
            if parent.distributions[param_name] != param_distribution:
                return self._random.sample_independent(study, trial, param_name, param_distribution)
        else:  # a dimension the parent did not use (a stage the mutation switched back on): its dormant gene
            genome = parent.system_attrs.get(_GENOME, {})
            if param_name not in genome or not _contains(param_distribution, genome[param_name]):
                return self._random.sample_independent(study, trial, param_name, param_distribution)
            value = genome[param_name]
        if trial.system_attrs.get(_MUTATE) == param_name:
            return _other_value(value, param_distribution, self._rng)
        return value

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        genome: dict[str, Any] = {}
        parent_number = trial.system_attrs.get(_PARENT)
        if parent_number is not None:
            parent_id = study._storage.get_trial_id_from_study_id_trial_number(study._study_id, parent_number)
            genome.update(study._storage.get_trial_system_attrs(parent_id).get(_GENOME, {}))
        genome.update(trial.params)
        study._storage.set_trial_system_attr(trial._trial_id, _GENOME, genome)
        self._random.after_trial(study, trial, state, values)


def _contains(distribution: BaseDistribution, value: Any) -> bool:
    try:
        return bool(distribution._contains(distribution.to_internal_repr(value)))
    except (ValueError, TypeError):
        return False


def _infeasible(trial: FrozenTrial) -> bool:
    """Over a limit: nasgen stores such a trial PRUNED with positive constraint values (it was never trained)."""
    return any(value > 0 for value in trial.constraints.values())


def _fitness(trial: FrozenTrial, sign: float) -> float:
    if _infeasible(trial):
        return -math.inf
    value = trial.value
    if value is None or math.isnan(value):
        return -math.inf
    return sign * value


def _other_value(value: Any, distribution: BaseDistribution, rng: np.random.RandomState) -> Any:
    """A value of ``distribution`` different from ``value`` (``value`` itself when there is no other)."""
    if isinstance(distribution, CategoricalDistribution):
        others = [c for c in distribution.choices if c != value]
        return others[rng.randint(len(others))] if others else value
    if isinstance(distribution, IntDistribution) and not distribution.log:
        grid = range(distribution.low, distribution.high + 1, distribution.step)
        others = [v for v in grid if v != value]
        return others[rng.randint(len(others))] if others else value
    if isinstance(distribution, IntDistribution):  # log scale: uniform in log space, rounded
        for _ in range(16):
            candidate = int(round(math.exp(rng.uniform(math.log(distribution.low), math.log(distribution.high)))))
            if candidate != value:
                return candidate
        return value
    if isinstance(distribution, FloatDistribution):
        low, high = distribution.low, distribution.high
        if distribution.log:
            return float(math.exp(rng.uniform(math.log(low), math.log(high))))
        if distribution.step is not None:
            n = int(round((high - low) / distribution.step))
            grid = [low + i * distribution.step for i in range(n + 1)]
            others = [v for v in grid if abs(v - value) > 1e-12]
            return others[rng.randint(len(others))] if others else value
        return float(rng.uniform(low, high))
    raise TypeError(f"unsupported distribution {type(distribution).__name__}")
