"""Scale-out throughput: trials/hour with 1, 2 and 4 workers on JournalStorage and PostgreSQL (issue 15).

The objective is a stand-in that sleeps ``--sleep`` seconds and scores MACs, so two busy cores are not what
limits the workers; what remains is the cost of sharing a study (storage round trips, sampling, costing). The
budget (10M MACs) is above the tiny test space's largest architecture, so no trial is infeasible.

Per storage and worker count it prints:

* ``trials/h``: finished trials per hour in the steady state — from the moment every worker has started its
  first trial to the moment the first worker finished its last one (process start-up and the uneven tail are
  left out), and ``whole``: the same over the first trial's start to the last trial's end;
* ``× ideal``: evaluated (sleeping) trials per hour in the same window divided by ``N · 3600 / sleep`` (1.0 =
  perfect scaling; infeasible, reused and duplicate trials cost no sleep and are counted in ``trials/h`` only);
* ``overhead/trial``: worker time per finished trial beyond the sleep, in ms (sampling, costing, storage);
* ``storage calls of one trial``: measured separately in one process: the storage calls one nasgen trial makes
  (create, 8 params, 15 user attributes in 4 writes, 1 constraint, 2 reads of the study's trials, finish), median wall ms of
  30, and the client's CPU ms (the rest is waiting: fsync of each journal append or PostgreSQL commit, and the
  run queue of a loaded machine).

Usage (from a source checkout, prefix ``PYTHONPATH=.``):
    python benchmarks/scale_out.py                       # journal only
    python benchmarks/scale_out.py --postgres postgresql://nasgen:nasgen@127.0.0.1:55432/nasgen_test
(the PostgreSQL database must be empty or hold no study named ``bench-*``; each run uses fresh study names).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from nasgen.cost import count_cost
from nasgen.spec import ArchSpec

SLEEP_ENV = "NASGEN_BENCH_SLEEP_S"


def sleeping_score(spec: ArchSpec) -> float:
    """Stand-in scorer: sleep ``$NASGEN_BENCH_SLEEP_S`` seconds, score = MACs in millions."""
    time.sleep(float(os.environ.get(SLEEP_ENV, "1.0")))
    return count_cost(spec).macs / 1e6


def _space():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "search"))
    from conftest import tiny_space

    return tiny_space()


def run_once(url: str, workers: int, n_trials: int, sleep_s: float, out: Path) -> dict[str, float]:
    """One search with ``workers`` workers on ``url``; throughput figures from the study's timestamps."""
    import scale_out  # this file, imported by name so worker processes can import the objective too

    from nasgen.search import search

    os.environ[SLEEP_ENV] = str(sleep_s)
    name = f"bench-{uuid.uuid4().hex[:8]}"
    result = search(
        10_000_000, space=_space(), objective=scale_out.sleeping_score, n_trials=n_trials, seed=0, sampler="random",
        out=out / name, storage=url, study_name=name, timeout=None, workers=workers, threads_per_worker=1,
    )
    trials = [t for t in result.study.trials if t.state.is_finished() and t.datetime_complete is not None]
    by_worker: dict[int, list] = {}
    for t in trials:
        by_worker.setdefault(int(t.user_attrs.get("pid", 0)), []).append(t)
    steady_from = max(min(t.datetime_start for t in ts) for ts in by_worker.values())
    steady_to = min(max(t.datetime_complete for t in ts) for ts in by_worker.values())
    steady = [t for t in trials if t.datetime_start >= steady_from and t.datetime_complete <= steady_to]
    steady_s = (steady_to - steady_from).total_seconds()
    whole_s = (max(t.datetime_complete for t in trials) - min(t.datetime_start for t in trials)).total_seconds()
    slept = [t for t in trials if _slept(t)]
    per_hour = len(steady) / steady_s * 3600 if steady_s > 0 and steady else float("nan")
    # only evaluated trials sleep (infeasible, reused and duplicate ones cost no sleep): ideal = N · 3600 / sleep
    slept_per_hour = sum(_slept(t) for t in steady) / steady_s * 3600 if steady_s > 0 else float("nan")
    return {
        "trials": len(trials),
        "workers_seen": len(by_worker),
        "per_hour": per_hour,
        "whole_per_hour": len(trials) / whole_s * 3600,
        "ideal_ratio": slept_per_hour / (workers * 3600 / sleep_s),
        "overhead_ms": (workers * whole_s - len(slept) * sleep_s) / len(trials) * 1000,
    }


def _slept(trial) -> bool:
    # read through the run record, as every consumer of trial facts does
    from nasgen.search._record import TrialRecord

    record = TrialRecord.from_trial(trial)
    return record.scored


def storage_ms_per_trial(url: str, repeats: int = 30) -> tuple[float, float]:
    """Median wall ms and mean process-CPU ms of the storage calls of one trial, in one process."""
    import optuna
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import TrialState

    from nasgen.search._storage import open_storage

    storage = open_storage(url, shared=True)
    study_id = storage.create_new_study([optuna.study.StudyDirection.MAXIMIZE], f"bench-ops-{uuid.uuid4().hex[:8]}")
    times = []
    cpu_start = time.process_time()
    for _ in range(repeats):
        start = time.perf_counter()
        trial_id = storage.create_new_trial(study_id)
        for k in range(8):
            storage.set_trial_param(trial_id, f"p{k}", 0, CategoricalDistribution([1, 2]))
        # as _record.py writes them: the spec's 8 attributes, the worker's 2, feasible, the evaluation's 4
        for group in (8, 2, 1, 4):
            attrs = {f"a{group}_{k}": k for k in range(group)}
            if group > 1 and hasattr(storage, "set_trial_user_attrs"):
                storage.set_trial_user_attrs(trial_id, attrs)
            else:
                for key, value in attrs.items():
                    storage.set_trial_user_attr(trial_id, key, value)
        storage.set_trial_system_attr(trial_id, "constraints", [0.0])
        for _ in range(2):
            storage.get_all_trials(study_id, deepcopy=False)
        storage.set_trial_state_values(trial_id, TrialState.COMPLETE, [1.0])
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, (time.process_time() - cpu_start) / repeats * 1000


def optuna_quiet() -> None:
    """Optuna's INFO lines ("A new study created …") would interleave with the table."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--trials-per-worker", type=int, default=8)
    parser.add_argument("--sleep", type=float, default=1.0, help="seconds the stand-in objective sleeps")
    parser.add_argument("--postgres", default=os.environ.get("NASGEN_TEST_POSTGRES_URL"), help="PostgreSQL URL")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        storages = [("journal", lambda: f"journal://{Path(tmp) / uuid.uuid4().hex / 'study.log'}")]
        if args.postgres:
            storages.append(("postgresql", lambda: args.postgres))
        print(f"stand-in sleeps {args.sleep} s; {args.trials_per_worker} trials per worker; random sampler; "
              f"1 thread per worker; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        optuna_quiet()
        print(f"{'storage':<11} {'N':>2} {'trials':>6} {'trials/h':>9} {'whole':>7} {'× ideal':>8} "
              f"{'overhead/trial':>15}")
        for label, make_url in storages:
            for n in counts:
                r = run_once(make_url(), n, n * args.trials_per_worker, args.sleep, Path(tmp))
                print(f"{label:<11} {n:>2} {r['trials']:>6} {r['per_hour']:>9.0f} {r['whole_per_hour']:>7.0f} "
                      f"{r['ideal_ratio']:>8.2f} {r['overhead_ms']:>12.0f} ms", flush=True)
            wall_ms, cpu_ms = storage_ms_per_trial(make_url())
            print(f"{label:<11} storage calls of one trial: {wall_ms:.1f} ms wall (median of 30), {cpu_ms:.1f} ms CPU "
                  "in this process", flush=True)


if __name__ == "__main__":
    main()
