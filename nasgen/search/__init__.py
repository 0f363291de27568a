"""Architecture search with Optuna: the only nasgen package that imports Optuna.

A search space's dimensions become Optuna parameters named by their dotted labels; every sample is costed
before it is built; feasible samples are scored by proxy training; the study lives in SQLite (or a shared
RDB) next to ``best.yaml`` and ``leaderboard.csv``.

The settings are a :class:`~nasgen.config.SearchConfig` (re-exported here); :func:`search` takes one, or its
fields as keywords. ``nasgen.run_search`` is the same function at the top level (``nasgen.search`` itself is this
package).

Example:
    >>> from nasgen.search import SearchConfig, search
    >>> result = search(config=SearchConfig(budget="400M", n_trials=10), out="runs/demo")  # doctest: +SKIP
    >>> result = search("400M", n_trials=10, out="runs/demo")  # the same, settings as keywords  # doctest: +SKIP
    >>> result.best_spec.display()  # doctest: +SKIP
"""

import optuna

from nasgen.search._version import MIN_OPTUNA, check_optuna_version

check_optuna_version(optuna.__version__)

from nasgen.search._api import DEFAULT_N_TRIALS, DEFAULT_TIMEOUT_S, SearchConfig, SearchResult, search
from nasgen.search._evaluate import Evaluation, ProxyEvaluator, ScorerEvaluator
from nasgen.search._objective import WORST_VALUE, Limits, Objective
from nasgen.search._confirm import CONFIRM_FIELDS, Candidate, Confirmation, confirm
from nasgen.search._reader import Run, open_run
from nasgen.search._insight import (
    FamilyMember,
    Importances,
    param_importances,
    scaled_family,
    trial_params,
    trial_times,
)
from nasgen.search._record import TrialRecord
from nasgen.search._outputs import LEADERBOARD_FIELDS, LeaderboardRow, leaderboard, near_chance, write_outputs
from nasgen.search._study import PRUNERS, SAMPLERS, recover_stale_trials
from nasgen.search._suggest import suggest_params, suggestable_params

__all__ = [
    "CONFIRM_FIELDS",
    "Candidate",
    "Confirmation",
    "confirm",
    "DEFAULT_N_TRIALS",
    "DEFAULT_TIMEOUT_S",
    "MIN_OPTUNA",
    "LEADERBOARD_FIELDS",
    "PRUNERS",
    "SAMPLERS",
    "WORST_VALUE",
    "Evaluation",
    "FamilyMember",
    "Importances",
    "LeaderboardRow",
    "Limits",
    "Objective",
    "Run",
    "TrialRecord",
    "ProxyEvaluator",
    "ScorerEvaluator",
    "SearchConfig",
    "SearchResult",
    "leaderboard",
    "near_chance",
    "open_run",
    "param_importances",
    "recover_stale_trials",
    "scaled_family",
    "search",
    "suggest_params",
    "suggestable_params",
    "trial_params",
    "trial_times",
    "write_outputs",
]

