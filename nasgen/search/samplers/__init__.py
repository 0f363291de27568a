"""Samplers and pruners, by name: TPE, random, NSGA-II, regularized evolution; median, Hyperband, none.

The names are declared once in :mod:`nasgen.config` (``SAMPLERS``, ``PRUNERS``); :func:`make_sampler` and
:func:`make_pruner` build them. :class:`TrialSeededSampler` gives each trial of a shared study its own seed
(workers never share a random stream); :class:`RegularizedEvolutionSampler` is Real et al.'s aging evolution; :class:`FeasibleStartSampler` draws any sampler's random startup trials within the budget.
"""

from nasgen.search.samplers._evolution import RegularizedEvolutionSampler
from nasgen.search.samplers._feasible import FeasibleStartSampler, startup_trials
from nasgen.search.samplers._factory import N_OBJECTIVES, make_pruner, make_sampler, sampler_factory
from nasgen.search.samplers._seeded import TrialSeededSampler, derive_seed

__all__ = [
    "N_OBJECTIVES",
    "FeasibleStartSampler",
    "RegularizedEvolutionSampler",
    "TrialSeededSampler",
    "derive_seed",
    "make_pruner",
    "make_sampler",
    "sampler_factory",
    "startup_trials",
]
