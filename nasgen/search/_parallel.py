"""Workers sharing one study without duplicating work (DESIGN.md, scale-out).

- Sampler seeds come from the study, not from a racy count: :class:`TrialSeededSampler` gives trial ``n`` a fresh
  sampler seeded with ``derive_seed(study seed, n)``. Trial numbers are unique in a study (the storage hands them
  out atomically), so no two workers draw from the same random stream, and a stateless sampler (random) proposes
  for trial ``n`` exactly what a single process would. TPE keeps ``constant_liar`` on when shared (running trials
  count as bad, so parallel workers spread out; Optuna 5's default for parallel TPE).
- An architecture already RUNNING elsewhere is not started again: see ``running_twin`` in ``_record.py``.
- A trial left RUNNING by a process of this host that no longer exists is failed at once with its reason and
  retried (:func:`fail_dead_local_trials`), without waiting for the heartbeat grace: a restarted worker retries its
  own killed trial immediately.

The proxy's training seed is untouched (the study's ``seed``), so scores stay comparable across workers.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from nasgen.data import data_fingerprint  # noqa: F401 - its home is nasgen.data; the search's callers import it here
from nasgen.search._record import mark_failed_with_reason, worker_of
from nasgen.search._storage import retry_stale_trial

__all__ = ["TrialSeededSampler", "derive_seed", "fail_dead_local_trials", "this_host"]


def derive_seed(seed: int, number: int) -> int:
    """A 32-bit sampler seed for trial ``number`` of a study searched with ``seed`` (SHA-256 of both)."""
    digest = hashlib.sha256(f"nasgen:{int(seed)}:{int(number)}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


class TrialSeededSampler(BaseSampler):
    """Each trial gets its own sampler, built by ``factory(derive_seed(seed, trial.number), parallel)``.

    Args:
        factory: ``factory(seed, parallel) → sampler`` (``nasgen.search._study.SAMPLERS``).
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


def this_host() -> str:
    """This machine's host name, as recorded on the trials it runs."""
    return socket.gethostname()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_dead_local_trials(study: optuna.Study, host: str | None = None) -> list[int]:
    """Fail the RUNNING trials whose process on this host has exited (killed), recording why; retry each once.

    Returns:
        Numbers of the trials failed now.
    """
    host = host or this_host()
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        trial_host, pid = worker_of(trial)
        if trial_host != host or pid is None or pid == os.getpid() or _alive(pid):
            continue
        reason = f"process killed while the trial ran (pid {pid} on {host} had exited)"
        if mark_failed_with_reason(study._storage, trial._trial_id, reason, fail=True):
            failed.append(trial.number)
            retry_stale_trial(study, study._storage.get_trial(trial._trial_id))
    return failed
