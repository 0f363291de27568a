"""Settings, declared once with their defaults: the proxy and full-run training recipes and the search's settings.

Every public entry point reads these models — :func:`nasgen.search.search` takes a :class:`SearchConfig`,
:func:`nasgen.train.train` a :class:`FullTrainConfig`, the proxy a :class:`TrainConfig` — and the CLI takes its
option defaults and choices from them (``tests/cli/test_options_agree.py`` checks every field). The package
imports neither torch nor Optuna, so ``nasgen --help`` can read it.

Example:
    >>> from nasgen.config import SearchConfig
    >>> config = SearchConfig(budget="400M", n_trials=50, sampler="nsga2")
    >>> config.budget, config.replace(seed=3).seed
    (400000000, 3)
"""

from nasgen.config._base import ConfigModel, merge_settings
from nasgen.config._data import DEFAULT_MAX_IMAGE_PIXELS
from nasgen.config._search import (
    BASELINES,
    DEFAULT_HEARTBEAT_GRACE_S,
    DEFAULT_HEARTBEAT_INTERVAL_S,
    DEFAULT_N_TRIALS,
    DEFAULT_TIMEOUT_S,
    EVALUATORS,
    PRUNERS,
    REWARDS,
    SAMPLERS,
    ZERO_COST_SCORES,
    SearchConfig,
    check_evaluator,
)
from nasgen.config._supernet import SUPERNET_PRESETS, SUPERNET_STRATEGIES, SupernetRecipe
from nasgen.config._train import LR_SCHEDULES, OPTIMIZERS, PROXY_ONLY, FullTrainConfig, TrainConfig

__all__ = [
    "BASELINES",
    "ConfigModel",
    "DEFAULT_HEARTBEAT_GRACE_S",
    "DEFAULT_HEARTBEAT_INTERVAL_S",
    "DEFAULT_MAX_IMAGE_PIXELS",
    "DEFAULT_N_TRIALS",
    "DEFAULT_TIMEOUT_S",
    "EVALUATORS",
    "FullTrainConfig",
    "LR_SCHEDULES",
    "OPTIMIZERS",
    "PROXY_ONLY",
    "PRUNERS",
    "REWARDS",
    "SAMPLERS",
    "SUPERNET_PRESETS",
    "SUPERNET_STRATEGIES",
    "SearchConfig",
    "SupernetRecipe",
    "TrainConfig",
    "ZERO_COST_SCORES",
    "check_evaluator",
    "merge_settings",
]
