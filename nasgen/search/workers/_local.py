"""Workers sharing one study without duplicating work (docs/scale-out.md).

- Sampler seeds come from the study, not from a racy count: ``nasgen.search.samplers.TrialSeededSampler`` gives
  trial ``n`` a fresh sampler seeded with ``derive_seed(study seed, n)``. Trial numbers are unique in a study (the
  storage hands them out atomically), so no two workers draw from the same random stream, and a stateless sampler
  (random) proposes for trial ``n`` exactly what a single process would. TPE keeps ``constant_liar`` on when shared
  (running trials count as bad, so parallel workers spread out; Optuna 5's default for parallel TPE).
- An architecture already RUNNING elsewhere is not started again: see ``nasgen.runs.running_twin``.
- A trial left RUNNING by a process of this host that no longer exists is failed at once with its reason and
  retried (:func:`fail_dead_local_trials`), without waiting for the heartbeat grace: a restarted worker retries its
  own killed trial immediately.

The proxy's training seed is untouched (the study's ``seed``), so scores stay comparable across workers.
"""

from __future__ import annotations

import os
import socket

import optuna
from optuna.trial import TrialState

from nasgen.runs import mark_failed_with_reason, worker_of
from nasgen.runs.storage import retry_stale_trial

__all__ = ["fail_dead_local_trials", "this_host"]


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
