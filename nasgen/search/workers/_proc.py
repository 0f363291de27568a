"""The body of one ``--workers`` process: ``python -m nasgen.search.workers._proc PLAN INDEX`` (see ``_launch.py``).

It loads the pickled :class:`~nasgen.search.workers.WorkerPlan`, joins the study (per-trial sampler seeds,
heartbeats), fails the trials a killed predecessor on this host left running, and runs trials until the study
holds ``n_trials`` finished ones. SIGINT interrupts the running trial (recorded ``interrupted``, retried on
resume) or, between trials, stops before the next one.
"""

from __future__ import annotations

import pickle
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nasgen.search.workers._plan import WorkerPlan

__all__ = ["worker_main"]


def worker_main(plan: WorkerPlan, index: int) -> int:
    """Join the study and run trials until it holds ``plan.n_trials`` finished ones (a worker process's body).

    Returns:
        0, or 130 after Ctrl-C.
    """
    from nasgen.search._progress import SearchProgress
    from nasgen.search._run import TRIAL_ERRORS, FailureGuard, plugin_trial_end, quiet_optuna
    from nasgen.search._study import count_finished
    from nasgen.search.objective import Objective
    from nasgen.search.workers._local import fail_dead_local_trials

    with quiet_optuna():
        study = _load_study(plan)
        fail_dead_local_trials(study)
        objective = Objective(
            plan.space, plan.limits, _evaluator(plan), freeze_kwargs=plan.freeze_kwargs,
            multi_objective=plan.multi_objective, seed=plan.seed, out=plan.out,
        )
        done = count_finished(study)
        if done >= plan.n_trials:
            return 0
        guard = FailureGuard()
        interrupt = _Interrupt(objective)
        signal.signal(signal.SIGINT, interrupt.on_signal)
        try:
            with SearchProgress(plan.n_trials, done, plan.timeout, None) as progress:
                objective.deadline = None if plan.timeout is None else time.monotonic() + plan.timeout
                objective.on_start = _hooks_start
                study.optimize(interrupt, timeout=plan.timeout, catch=TRIAL_ERRORS,
                               callbacks=[progress, guard, plugin_trial_end, interrupt.stop_between_trials])
        except KeyboardInterrupt:
            return 130
        if interrupt.requested:
            return 130
        guard.raise_if_tripped()
    return 0


class _Interrupt:
    """SIGINT in a worker: interrupt the running trial (recorded ``interrupted``, so a resume retries it), or,
    between trials, stop before the next one — never in the middle of Optuna's own storage writes, where a
    trial would be failed without saying why and never retried."""

    def __init__(self, objective: Callable[[Any], Any]) -> None:
        self.objective = objective
        self.requested = False
        self.inside = False

    def on_signal(self, signum: int, frame: Any) -> None:
        self.requested = True
        if self.inside:
            raise KeyboardInterrupt

    def __call__(self, trial: Any) -> Any:
        from nasgen.runs import record_interrupted

        if self.requested:
            record_interrupted(trial)
            raise KeyboardInterrupt
        self.inside = True
        try:
            return self.objective(trial)
        except KeyboardInterrupt:
            record_interrupted(trial)
            raise
        finally:
            self.inside = False

    def stop_between_trials(self, study: Any, trial: Any) -> None:
        if self.requested:
            study.stop()


def _hooks_start(number: int, spec: Any) -> None:
    from nasgen import hooks

    hooks.trial_start(number, spec)


def _load_study(plan: WorkerPlan) -> Any:
    import optuna

    from nasgen.runs.storage import Heartbeat, open_storage
    from nasgen.search.samplers import TrialSeededSampler, make_pruner, sampler_factory

    storage = open_storage(plan.storage, shared=True, heartbeat=Heartbeat(*plan.heartbeat))
    sampler = TrialSeededSampler(sampler_factory(plan.sampler), plan.seed, True)
    if plan.feasible_start:
        from nasgen.search._prepare import feasible_start

        sampler = feasible_start(plan.space, plan.limits, plan.freeze_kwargs, plan.seed)(sampler)
    n_objectives = 2 if plan.multi_objective else 1
    pruner = make_pruner(plan.pruner if n_objectives == 1 else "none", epochs=plan.epochs, n_objectives=n_objectives)
    return optuna.load_study(study_name=plan.study_name, storage=storage, sampler=sampler, pruner=pruner)


def _evaluator(plan: WorkerPlan) -> Any:
    """The parent's evaluator, built by the same factory on the same data: a streamed folder's proxy cache is the
    parent's memory-mapped file (mapped, not decoded again), in-memory data is loaded as the parent loaded it."""
    from nasgen.runs import RunDir
    from nasgen.search._data import DataOptions, open_prepared, prepare_data
    from nasgen.search.evaluators import EvaluatorContext, make_evaluator

    if plan.objective is None:
        import torch

        torch.set_num_threads(plan.threads)
    if plan.cache is not None:
        data = open_prepared(RunDir(plan.out).root / plan.cache, None, plan.fingerprint)
    else:
        data = prepare_data(plan.data, space=plan.space, proxy=plan.proxy, out_dir=plan.out, seed=plan.seed,
                            options=DataOptions(), need_data=plan.objective is None)  # fmt: skip
    context = EvaluatorContext(data=data.train, proxy=plan.proxy, seed=plan.seed, save_weights=plan.save_weights,
                               scorer=plan.objective, options=plan.evaluator_options, space=plan.space,
                               run_dir=plan.out)  # fmt: skip
    return make_evaluator(plan.evaluator, context)


if __name__ == "__main__":
    _plan = pickle.loads(Path(sys.argv[1]).read_bytes())
    sys.exit(worker_main(_plan, int(sys.argv[2])))
