"""A feasible start: the random trials of any sampler drawn within the budget (issue 27, point 2).

Every sampler starts at random — TPE's ``n_startup_trials`` (10), regularized evolution's first population (50),
NSGA-II's first generation (20), and the random sampler throughout. Drawn uniformly per dimension, most of those
land over a tight budget (``benchmarks/search_quality.py --arm infeasible``: on ``efficientnet-v2`` at 400M,
98.8 % of the space is over it): the trials are recorded infeasible and never trained, but they are trials the
user asked for and did not get, and a sampler learning from ten infeasible startup trials learns where not to go
and nothing about what scores well.

:class:`FeasibleStartSampler` wraps a sampler: for a startup trial it draws a whole architecture within the
analytic limits before Optuna asks for any parameter (``before_trial``), and answers each ``suggest_*`` from it.
The draws it rejected are never trials; how many there were is recorded on the trial (system attribute
``nasgen:feasible_draws``, with ``nasgen:feasible_method`` ``"rejection"`` or ``"shrink"``), so the record says
what the sample cost. Whatever the wrapped sampler proposes after its start is recorded as before — over budget,
infeasible with its constraint values — so the study stays an honest record of what the sampler did.

The draw (:func:`nasgen.search.objective.feasible_draw`) is rejection sampling from ``SearchSpace.sample_params``
(uniform over the feasible region, up to ``max_draws``), then, when the region is too small to hit, a walk from the
last draw towards the space's smallest architecture, one dimension at a time in random order, stopping at the first
feasible point (always reached: the search refuses a budget the smallest architecture exceeds).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from nasgen.search.samplers._seeded import derive_seed

__all__ = ["FeasibleStartSampler", "startup_trials"]

_PARAMS = "nasgen:feasible_params"
_DRAWS = "nasgen:feasible_draws"
_METHOD = "nasgen:feasible_method"

Draw = Callable[[int], tuple[dict[str, Any], int, str]]
"""``draw(seed) → (params, draws, method)``: a feasible architecture's Optuna params, the draws it took, how."""


def startup_trials(sampler: BaseSampler) -> int | None:
    """The trials ``sampler`` draws at random before it models anything (None: every trial, the random sampler).

    TPE: ``n_startup_trials``; regularized evolution: ``population_size``; NSGA-II: ``population_size`` (its first
    generation); a sampler this function does not know: 0 (left alone).
    """
    import optuna

    from nasgen.search.samplers._evolution import RegularizedEvolutionSampler
    from nasgen.search.samplers._seeded import TrialSeededSampler

    if isinstance(sampler, TrialSeededSampler):  # workers: each trial's own sampler, all of one kind
        return startup_trials(sampler._sampler)
    if isinstance(sampler, optuna.samplers.RandomSampler):
        return None
    if isinstance(sampler, optuna.samplers.TPESampler):
        return int(sampler._n_startup_trials)
    if isinstance(sampler, RegularizedEvolutionSampler):
        return int(sampler.population_size)
    if isinstance(sampler, optuna.samplers.NSGAIISampler):
        return int(sampler._population_size)
    return 0


class FeasibleStartSampler(BaseSampler):
    """``base``, with its random startup trials drawn within the limits by ``draw``.

    Args:
        base: The sampler wrapped (TPE, random, NSGA-II, regularized evolution …).
        draw: ``draw(seed) → (params, draws, method)`` (``nasgen.search.objective.feasible_draw`` bound to a space
            and limits).
        seed: The study's seed; trial ``n``'s draw uses ``derive_seed(seed, n)``, so workers and resumed runs draw
            the same architecture for the same trial number.
        n_startup: Trials drawn this way (by trial number); None = every trial (default: :func:`startup_trials`).
    """

    def __init__(self, base: BaseSampler, draw: Draw, seed: int, n_startup: int | None | str = "auto") -> None:
        self.base = base
        self._draw = draw
        self._seed = int(seed)
        self.n_startup = startup_trials(base) if n_startup == "auto" else n_startup

    def _starts(self, trial: FrozenTrial) -> bool:
        return self.n_startup is None or trial.number < self.n_startup

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.base.before_trial(study, trial)
        fixed = trial.system_attrs.get("fixed_params")  # an enqueued trial keeps its own architecture
        if fixed or not self._starts(trial):
            return
        params, draws, method = self._draw(derive_seed(self._seed, trial.number))
        storage = study._storage
        storage.set_trial_system_attr(trial._trial_id, _PARAMS, params)
        storage.set_trial_system_attr(trial._trial_id, _DRAWS, draws)
        storage.set_trial_system_attr(trial._trial_id, _METHOD, method)

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        if _PARAMS in trial.system_attrs:
            return {}
        return self.base.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if _PARAMS in trial.system_attrs:
            return {}
        return self.base.sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        drawn = trial.system_attrs.get(_PARAMS)
        if drawn is not None and param_name in drawn:
            value = drawn[param_name]
            try:
                if param_distribution._contains(param_distribution.to_internal_repr(value)):
                    return value
            except (ValueError, TypeError):
                pass  # a drawn value this distribution cannot hold: the base sampler draws instead
        return self.base.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self.base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.base.reseed_rng()
