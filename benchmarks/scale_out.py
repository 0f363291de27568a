"""Scale-out throughput: trials/hour with 1, 2 and 4 workers on JournalStorage and PostgreSQL (issue 15).

The objective is a stand-in that sleeps ``--sleep`` seconds and scores MACs, so two busy cores are not what
limits the workers; what remains is the cost of sharing a study (storage round trips, sampling, costing). The
budget (10M MACs) is above the tiny test space's largest architecture, so no trial is infeasible.

Per storage and worker count it prints:

* ``trials/h``: finished trials per hour in the steady state: per worker, from its first trial's start to its
  last trial's start (it ran the trials started in between back to back; process start-up and the uneven tail
  are left out), summed over the workers; ``whole``: all trials over the first trial's start to the last
  trial's end;
* ``× ideal``: evaluated (sleeping) trials per hour in the steady state divided by ``N · 3600 / sleep`` (1.0 =
  perfect scaling; infeasible, reused and duplicate trials cost no sleep and are counted in ``trials/h`` only),
  then the same over the whole run;
* ``overhead/trial``: a worker's steady-state time per trial beyond the sleep, in ms (sampling, costing, the run
  record's files, storage, waiting for a core), mean over the workers;
* ``storage overhead of one trial``: measured separately in one process with a stand-in that does not sleep:
  the median trial-to-trial time on the storage minus the same on Optuna's in-memory storage (three runs of
  40 trials each, alternating), i.e. what the storage's round trips add to a trial.

Usage (from a source checkout, prefix ``PYTHONPATH=.``):
    python benchmarks/scale_out.py                       # journal only
    python benchmarks/scale_out.py --postgres postgresql://nasgen:nasgen@127.0.0.1:55432/nasgen_test
(the PostgreSQL database must be empty or hold no study named ``bench-*``; each run uses fresh study names).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    # Steady state, per worker: from its first trial's start to its last trial's start, it ran the trials started
    # in between back to back (process start-up and the uneven tail are left out).
    rate = slept_rate = cycle_sum = 0.0
    for ts in by_worker.values():
        ts.sort(key=lambda t: t.datetime_start)
        if len(ts) < 2:
            continue
        span = (ts[-1].datetime_start - ts[0].datetime_start).total_seconds()
        inner = ts[:-1]
        rate += len(inner) / span
        slept_rate += sum(_slept(t) for t in inner) / span
        cycle_sum += (span - sleep_s * sum(_slept(t) for t in inner)) / len(inner)
    whole_s = (max(t.datetime_complete for t in trials) - min(t.datetime_start for t in trials)).total_seconds()
    slept = [t for t in trials if _slept(t)]
    return {
        "trials": len(trials),
        "workers_seen": len(by_worker),
        "per_hour": rate * 3600,
        "whole_per_hour": len(trials) / whole_s * 3600,
        # only evaluated trials sleep (infeasible, reused and duplicate ones cost no sleep): ideal = N / sleep
        "ideal_ratio": slept_rate * sleep_s / workers,
        "whole_ratio": len(slept) / whole_s * sleep_s / workers,
        "overhead_ms": cycle_sum / len(by_worker) * 1000,
    }


def _slept(trial) -> bool:
    # read through the run record, as every consumer of trial facts does
    from nasgen.runs import TrialRecord

    record = TrialRecord.from_trial(trial)
    return record.scored


def cycle_ms(url: Any, n_trials: int, out: Path) -> float:
    """Median ms from one trial's start to the next in a one-process search whose stand-in does not sleep."""
    import scale_out

    from nasgen.search import search

    os.environ[SLEEP_ENV] = "0"
    name = f"bench-{uuid.uuid4().hex[:8]}"
    result = search(
        10_000_000, space=_space(), objective=scale_out.sleeping_score, n_trials=n_trials, seed=0, sampler="random",
        out=out / name, storage=url, study_name=name, timeout=None, workers=1, threads_per_worker=1,
    )
    starts = sorted(t.datetime_start for t in result.study.trials if t.datetime_start is not None)
    return statistics.median((b - a).total_seconds() * 1000 for a, b in itertools.pairwise(starts[5:]))


def storage_ms_per_trial(make_url: Callable[[], str], out: Path, n_trials: int = 40) -> tuple[float, float]:
    """Storage overhead of one trial: the median trial-to-trial time of a one-process search on the storage minus
    the same on Optuna's in-memory storage (everything else, sampling, costing, the run record's files, is the
    same), alternating the two three times; returns (storage ms, in-memory ms), medians of the three."""
    import optuna

    on_storage, in_memory = [], []
    for _ in range(3):
        on_storage.append(cycle_ms(make_url(), n_trials, out))
        in_memory.append(cycle_ms(optuna.storages.InMemoryStorage(), n_trials, out))
    return statistics.median(on_storage) - statistics.median(in_memory), statistics.median(in_memory)


def optuna_quiet() -> None:
    """Optuna's INFO lines ("A new study created …") would interleave with the table."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--trials-per-worker", type=int, default=16)
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
        print(f"{'storage':<11} {'N':>2} {'trials':>6} {'trials/h':>9} {'whole':>7} {'× ideal':>8} {'whole':>6} "
              f"{'overhead/trial':>15}")
        for label, make_url in storages:
            for n in counts:
                r = run_once(make_url(), n, n * args.trials_per_worker, args.sleep, Path(tmp))
                print(f"{label:<11} {n:>2} {r['trials']:>6} {r['per_hour']:>9.0f} {r['whole_per_hour']:>7.0f} "
                      f"{r['ideal_ratio']:>8.2f} {r['whole_ratio']:>6.2f} {r['overhead_ms']:>12.0f} ms", flush=True)
            extra_ms, memory_ms = storage_ms_per_trial(make_url, Path(tmp))
            print(f"{label:<11} storage overhead of one trial (one process, no sleep): {extra_ms:.1f} ms "
                  f"(trial-to-trial {extra_ms + memory_ms:.1f} ms, on Optuna's in-memory storage {memory_ms:.1f} ms)",
                  flush=True)


if __name__ == "__main__":
    main()
