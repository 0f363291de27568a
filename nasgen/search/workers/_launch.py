"""``--workers N``: one study, N worker processes on this machine (docs/scale-out.md).

The parent creates the study once (storage, settings, enqueued architectures), then starts N processes
(``python -m nasgen.search.workers._proc PLAN INDEX``), each pinned to one device (round robin over ``devices``;
``CUDA_VISIBLE_DEVICES`` holds exactly that GPU, or nothing for ``cpu``) and to ``threads`` intra-op threads
(``OMP_NUM_THREADS`` and ``torch.set_num_threads``), so N workers do not oversubscribe the cores. Workers load
the study, train, and write nothing but the study and ``trials/<n>/arch.yaml``; the parent writes
``best.yaml`` and ``leaderboard.csv`` once, from the study, when all have ended. Ctrl-C in the parent reaches
every worker (SIGINT): each fails its running trial as interrupted (retried on resume) and exits.

``n_trials`` counts the finished trials of the whole study, whichever worker ran them; a worker stops when the
study holds that many (trials already running in other workers still finish, so a study may end up to N − 1
trials over).
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nasgen.errors import SearchError
from nasgen.runs import RunDir, TrialRecord, worker_of, write_outputs
from nasgen.search.workers._local import fail_dead_local_trials
from nasgen.search.workers._plan import WorkerPlan

__all__ = ["run_search_workers", "run_workers"]

_STOP_GRACE_S = 30.0
_POLL_S = 1.0


def run_search_workers(study: Any, plan: WorkerPlan, console: Any = None) -> None:
    """:func:`run_workers`, then (also after Ctrl-C or a failure) fail the trials of workers killed mid-trial
    (reason recorded, retried once) and write the outputs once, from the study."""
    try:
        run_workers(plan, console, None if console is None else _trial_lines(study, console))
    finally:
        fail_dead_local_trials(study)
        write_outputs(study, plan.out)


def _trial_lines(study: Any, console: Any) -> Callable[[dict[int, int]], None]:
    """A tick that prints one line per trial finished since the last tick (any worker's, or another machine's)."""
    from nasgen.units import format_count

    seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}

    def tick(workers: dict[int, int]) -> None:
        for trial in study.get_trials(deepcopy=False):
            if not trial.state.is_finished() or trial.number in seen:
                continue
            seen.add(trial.number)
            record = TrialRecord.from_trial(trial)
            _, pid = worker_of(trial)
            who = f"worker {workers[pid]}" if pid in workers else "elsewhere"
            score = "" if record.val_top1 is None else f" {100 * record.val_top1:.2f}%" if 0 <= record.val_top1 <= 1 \
                else f" {record.val_top1:g}"
            macs = "" if record.macs is None else f", {format_count(record.macs)} MACs"
            reason = f" ({record.reason})" if record.reason else ""
            console.print(f"trial {record.number} [{who}]: {record.state}{score}{macs}{reason}", highlight=False,
                          markup=False, soft_wrap=True)

    return tick


def _env(device: str, threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # what the parent imports, the worker does too
    env["CUDA_VISIBLE_DEVICES"] = "" if device == "cpu" else device
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(threads)
    return env


def run_workers(
    plan: WorkerPlan, console: Any = None, on_tick: Callable[[dict[int, int]], None] | None = None
) -> list[int]:
    """Start one process per entry of ``plan.devices`` and wait for all of them.

    Args:
        plan: What the workers run.
        console: Where to say how many workers started, on which devices.
        on_tick: Called every second while they run, with ``{pid: worker index}``.

    Returns:
        The exit codes, in worker order.

    Raises:
        SearchError: Every worker failed (names the first one's last log line).
        KeyboardInterrupt: Ctrl-C; every worker has been stopped (SIGINT, then SIGKILL after 30 s).
    """
    folder = RunDir(plan.out).workers
    folder.mkdir(parents=True, exist_ok=True)
    plan_file = folder / "plan.pkl"
    plan_file.write_bytes(pickle.dumps(plan))
    procs = []
    for index, device in enumerate(plan.devices):
        log = (folder / f"{index}.log").open("w", encoding="utf-8")
        cmd = [sys.executable, "-m", "nasgen.search.workers._proc", str(plan_file), str(index)]
        # A session of its own: Ctrl-C reaches the parent only, which forwards one SIGINT to each worker.
        procs.append(
            subprocess.Popen(
                cmd, env=_env(device, plan.threads), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )
        log.close()
    if console is not None:
        where = ", ".join(sorted(set(plan.devices)))
        console.print(f"workers: {len(procs)} on {where}, {plan.threads} thread(s) each; logs in {folder}",
                      highlight=False)
    try:
        while any(proc.poll() is None for proc in procs):
            time.sleep(_POLL_S)
            if on_tick is not None:
                on_tick({proc.pid: index for index, proc in enumerate(procs)})
        codes = [proc.wait() for proc in procs]
    except KeyboardInterrupt:
        _stop(procs)
        raise
    if codes and all(code != 0 for code in codes):
        raise SearchError(f"every worker failed; worker 0: {_last_line(folder / '0.log')} (logs in {folder})")
    return codes


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + _STOP_GRACE_S
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"


