"""Architecture search with Optuna: space → trials → an evaluator's scores → a run (``nasgen.runs``).

A search space's dimensions become Optuna parameters named by their dotted labels; every sample is costed
before it is built; feasible samples are scored by an evaluator (:mod:`nasgen.search.evaluators`: proxy training
by default); the study lives in SQLite (or a journal file, or a shared RDB) next to ``best.yaml`` and
``leaderboard.csv``. One subpackage per concept: ``evaluators``, ``samplers``, ``objective``, ``workers``,
``confirm``; the run record, reader and outputs are :mod:`nasgen.runs`'.

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

from nasgen.runs import Run, TrialRecord, open_run  # noqa: E402 -- re-exported: the reader of what a search wrote
from nasgen.search._api import DEFAULT_N_TRIALS, DEFAULT_TIMEOUT_S, SearchConfig, SearchResult, search  # noqa: E402
from nasgen.search._study import recover_stale_trials  # noqa: E402
from nasgen.search.confirm import CONFIRM_FIELDS, Candidate, Confirmation, confirm  # noqa: E402
from nasgen.search.evaluators import (  # noqa: E402
    Evaluation,
    Evaluator,
    EvaluatorContext,
    ProxyEvaluator,
    ScorerEvaluator,
    ZeroCostEvaluator,
    make_evaluator,
)
from nasgen.search.objective import WORST_VALUE, Limits, Objective, suggest_params, suggestable_params  # noqa: E402

__all__ = [
    "CONFIRM_FIELDS",
    "DEFAULT_N_TRIALS",
    "DEFAULT_TIMEOUT_S",
    "MIN_OPTUNA",
    "WORST_VALUE",
    "Candidate",
    "Confirmation",
    "Evaluation",
    "Evaluator",
    "EvaluatorContext",
    "Limits",
    "Objective",
    "ProxyEvaluator",
    "Run",
    "ScorerEvaluator",
    "SearchConfig",
    "SearchResult",
    "TrialRecord",
    "ZeroCostEvaluator",
    "confirm",
    "make_evaluator",
    "open_run",
    "recover_stale_trials",
    "search",
    "suggest_params",
    "suggestable_params",
]
