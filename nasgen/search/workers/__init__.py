"""Several processes on one study: ``--workers N`` on one machine, the same command on several machines.

The parent creates the study once, writes a :class:`WorkerPlan` and starts the processes (:func:`run_workers`);
each builds its evaluator with the parent's factory on the parent's prepared data, joins the study and runs trials
until the study holds ``n_trials``; the parent writes the outputs once. :func:`fail_dead_local_trials` fails (with
the reason) and retries the trials of this host's killed processes. See docs/scale-out.md.
"""

from nasgen.search.workers._launch import run_search_workers, run_workers
from nasgen.search.workers._local import fail_dead_local_trials, this_host
from nasgen.search.workers._plan import (
    WorkerPlan,
    check_picklable,
    check_scale_out,
    plan_devices,
    worker_threads,
    workers_storage,
)

__all__ = [
    "WorkerPlan",
    "check_picklable",
    "check_scale_out",
    "fail_dead_local_trials",
    "plan_devices",
    "run_search_workers",
    "run_workers",
    "this_host",
    "worker_threads",
    "workers_storage",
]
