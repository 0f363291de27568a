"""Per-trial seeds for samplers shared by several processes: no two workers draw from one random stream."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

__all__ = ["TrialSeededSampler", "derive_seed"]


def derive_seed(seed: int, number: int) -> int:
    """A 32-bit sampler seed for trial ``number`` of a study searched with ``seed`` (SHA-256 of both)."""
    digest = hashlib.sha256(f"nasgen:{int(seed)}:{int(number)}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


class TrialSeededSampler(BaseSampler):
    """Each trial gets its own sampler, built by ``factory(derive_seed(seed, trial.number), parallel)``.

    Args:
        factory: ``factory(seed, parallel) → sampler`` (``nasgen.search.samplers.sampler_factory``).
        seed: The study's seed.
        parallel: Passed to ``factory`` (TPE's ``constant_liar``).
    """

    def __init__(self, factory: Callable[[int, bool], BaseSampler], seed: int, parallel: bool = True) -> None:
        self._factory = factory
        self._seed = int(seed)
        self._parallel = parallel
        self._number: int | None = None
        self._sampler: BaseSampler = factory(derive_seed(seed, -1), parallel)

    def _for(self, trial: FrozenTrial) -> BaseSampler:
        if trial.number != self._number:
            self._sampler = self._factory(derive_seed(self._seed, trial.number), self._parallel)
            self._number = trial.number
        return self._sampler

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self._for(trial).sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._for(trial).before_trial(study, trial)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self._for(trial).after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        """Nothing to do: seeds are a function of the study seed and the trial number."""
