"""The samplers and pruners a search can use, by the names declared in :mod:`nasgen.config`.

Samplers: TPE (Bergstra et al. 2011; multivariate, Falkner et al. 2018; ``group=True`` for conditional stages),
random, NSGA-II (Deb et al. 2002; accuracy vs MACs), regularized evolution (Real et al. 2019; ``_evolution.py``).
Pruners: median (Golovin et al. 2017, "Google Vizier", §3.2.2) and Hyperband (Li et al. 2018) on per-epoch
validation accuracy; pruning applies to single-objective samplers only.

The names users may give live once, in ``nasgen.config`` (``SAMPLERS`` / ``PRUNERS``, torch- and Optuna-free for the
CLI); this module holds a factory for each of those names and nothing more (checked when it is imported).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import optuna

from nasgen.config import PRUNERS, SAMPLERS
from nasgen.errors import SearchError

__all__ = ["N_OBJECTIVES", "make_pruner", "make_sampler", "sampler_factory"]


def _tpe(seed: int, parallel: bool) -> optuna.samplers.BaseSampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(multivariate=True, group=True, seed=seed, constant_liar=parallel)


def _random(seed: int, parallel: bool) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def _nsga2(seed: int, parallel: bool) -> optuna.samplers.BaseSampler:
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=20)


def _evolution(seed: int, parallel: bool) -> optuna.samplers.BaseSampler:
    from nasgen.search.samplers._evolution import RegularizedEvolutionSampler

    return RegularizedEvolutionSampler(population_size=50, sample_size=25, seed=seed)


_SAMPLER_FACTORIES: dict[str, Callable[[int, bool], optuna.samplers.BaseSampler]] = {
    "tpe": _tpe,
    "random": _random,
    "nsga2": _nsga2,
    "evolution": _evolution,
}

N_OBJECTIVES: dict[str, int] = {"tpe": 1, "random": 1, "nsga2": 2, "evolution": 1}
"""Objectives of each sampler: NSGA-II optimizes accuracy and MACs together, the others accuracy."""

_PRUNER_FACTORIES: dict[str, Callable[[int], optuna.pruners.BasePruner]] = {
    "none": lambda epochs: optuna.pruners.NopPruner(),
    "median": lambda epochs: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
    "hyperband": lambda epochs: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 1)),
}

if set(_SAMPLER_FACTORIES) != set(SAMPLERS) or set(N_OBJECTIVES) != set(SAMPLERS) or set(_PRUNER_FACTORIES) != set(
    PRUNERS
):  # a name added in nasgen.config without its factory here (or the reverse) is a programming error
    raise ImportError(f"sampler/pruner factories {sorted(_SAMPLER_FACTORIES)}/{sorted(_PRUNER_FACTORIES)} do not "
                      f"match nasgen.config's names {SAMPLERS}/{PRUNERS}")


def _known(what: str, name: str, allowed: tuple[str, ...]) -> None:
    if name not in allowed:
        raise SearchError(f"{what}: expected one of {', '.join(allowed)}, got {name!r}")


def sampler_factory(name: str) -> Callable[[int, bool], optuna.samplers.BaseSampler]:
    """``factory(seed, parallel) → sampler`` of the sampler ``name`` (``parallel``: TPE's ``constant_liar``).

    Raises:
        SearchError: Unknown sampler name.
    """
    _known("sampler", name, SAMPLERS)
    return _SAMPLER_FACTORIES[name]


def make_sampler(name: str, *, seed: int, n_existing: int, parallel: bool) -> tuple[Any, int]:
    """The sampler called ``name`` and its number of objectives.

    The seed is offset by the number of trials already in the study, so a resumed run does not replay the
    random proposals of the first one.

    Raises:
        SearchError: Unknown sampler name.
    """
    return sampler_factory(name)(seed + n_existing, parallel), N_OBJECTIVES[name]


def make_pruner(name: str, *, epochs: int, n_objectives: int) -> optuna.pruners.BasePruner:
    """The pruner called ``name`` (``none`` under multi-objective sampling, where Optuna cannot prune).

    Raises:
        SearchError: Unknown pruner name, or a pruner asked for together with NSGA-II.
    """
    _known("pruner", name, PRUNERS)
    if n_objectives > 1 and name != "none":
        raise SearchError(
            f"pruner {name!r} needs a single-objective sampler: NSGA-II optimizes accuracy and MACs together and "
            "Optuna cannot prune multi-objective trials; leave --pruner out or use --pruner none with nsga2"
        )
    return _PRUNER_FACTORIES[name](epochs)
