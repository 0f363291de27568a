"""The oldest Optuna nasgen works with, checked once when :mod:`nasgen.search` is imported.

nasgen uses two Optuna 5 APIs: ``Trial.set_constraint`` (per-trial constraint values that TPE and NSGA-II
learn from, see ``_objective.py``) and ``optuna.storages.RetryHeartbeatStaleTrialCallback`` (a dead
worker's trial failed and re-enqueued, see ``_study.py``). On Optuna 4.x the first search would end in an
``AttributeError`` deep inside a trial; this check says so at import instead.
"""

from __future__ import annotations

import re

from nasgen.errors import SearchError

__all__ = ["MIN_OPTUNA", "check_optuna_version"]

MIN_OPTUNA = (5, 0)
"""Oldest Optuna release nasgen supports (also the lower bound in ``pyproject.toml``)."""


def check_optuna_version(version: str) -> None:
    """Refuse an Optuna older than :data:`MIN_OPTUNA`.

    Args:
        version: ``optuna.__version__``, e.g. ``"4.8.0"`` or ``"5.1.0.dev0"``.

    Raises:
        SearchError: The version is older, naming the version found and the APIs that need the newer one.
    """
    match = re.match(r"^(\d+)\.(\d+)", version)
    found = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if found < MIN_OPTUNA:
        need = ".".join(map(str, MIN_OPTUNA))
        raise SearchError(
            f"nasgen needs Optuna >= {need} (Trial.set_constraint, RetryHeartbeatStaleTrialCallback), found "
            f"Optuna {version}: pip install 'optuna>={need}'"
        )
