"""``--workers N``: one study, N worker processes on this machine (DESIGN.md, scale-out).

The parent creates the study once (storage, settings, enqueued architectures), then starts N processes
(``python -m nasgen.search._worker_proc PLAN INDEX``), each pinned to one device (round robin over ``devices``;
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasgen.errors import SearchError

__all__ = ["WorkerPlan", "plan_devices", "run_workers", "worker_threads"]

_STOP_GRACE_S = 30.0
_POLL_S = 1.0


@dataclass
class WorkerPlan:
    """Everything a worker process needs to join the study (pickled to ``<out>/workers/plan.pkl``).

    Attributes:
        storage: Storage URL of the study (a journal file or an RDB URL).
        study_name: The study.
        space: The ``SearchSpace`` object.
        data: Dataset source (``load_dataset``), None with a stand-in objective.
        proxy: The proxy ``TrainConfig`` fixed by the parent (the same for every worker), or None.
        objective: Stand-in scorer (a module-level function, pickled by reference), or None.
        limits: Cost limits.
        freeze_kwargs: ``num_classes`` / ``in_channels`` of the data.
        sampler: Sampler name; pruner: pruner name; seed: the study's seed.
        n_trials: Finished trials the study should hold; timeout: seconds (None = no limit).
        out: Run directory.
        heartbeat: ``(interval_s, grace_s)``.
        save_weights: Keep the best trial's proxy weights.
        multi_objective: NSGA-II mode.
        data_options: ``proxy_images``, ``loader_workers``, ``skip_bad_images``, ``max_image_pixels``,
            ``shared_cache`` of
            :func:`nasgen.search._data.search_data`: a streamed folder's workers train on the parent's proxy cache.
    """

    storage: str
    study_name: str
    space: Any
    data: Any
    proxy: Any
    objective: Callable[..., float] | None
    limits: Any
    freeze_kwargs: dict[str, Any]
    sampler: str
    pruner: str
    seed: int
    n_trials: int
    timeout: float | None
    out: Path
    heartbeat: tuple[int, int] = (30, 120)
    save_weights: bool = False
    multi_objective: bool = False
    epochs: int = 1
    devices: list[str] = field(default_factory=list)
    threads: int = 1
    data_options: dict[str, Any] = field(default_factory=dict)


def check_scale_out(
    workers: int,
    devices: str | None,
    threads: int | None,
    objective: Callable[..., float] | None,
    callbacks: list[Any],
) -> tuple[list[str], int]:
    """Check the scale-out arguments of ``search`` before anything runs.

    Returns:
        The device of each worker and the threads per worker.

    Raises:
        SearchError: ``workers`` < 1, bad ``devices`` or ``threads``; with more than one worker, a stand-in
            objective the workers cannot import, or Optuna callbacks (they would run in other processes).
    """
    planned = plan_devices(workers, devices) if workers != 1 or devices is not None else ["cpu"]
    per_worker = worker_threads(workers, threads)
    if workers > 1:
        check_picklable(objective)
        if callbacks:
            raise SearchError("callbacks: Optuna callbacks cannot follow trials run by worker processes; use workers=1")
    return planned, per_worker


def run_search_workers(study: Any, plan: WorkerPlan, console: Any = None) -> None:
    """:func:`run_workers`, then (also after Ctrl-C or a failure) fail the trials of workers killed mid-trial
    (reason recorded, retried once) and write the outputs once, from the study."""
    from nasgen.search._outputs import write_outputs
    from nasgen.search._parallel import fail_dead_local_trials

    try:
        run_workers(plan, console, None if console is None else _trial_lines(study, console))
    finally:
        fail_dead_local_trials(study)
        write_outputs(study, plan.out)


def _trial_lines(study: Any, console: Any) -> Callable[[dict[int, int]], None]:
    """A tick that prints one line per trial finished since the last tick (any worker's, or another machine's)."""
    from nasgen.search._record import TrialRecord, worker_of
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


def plan_devices(workers: int, devices: str | None, cuda_count: int | None = None) -> list[str]:
    """The device of each worker: ``"cpu"`` or a CUDA index, round robin over ``devices``.

    Args:
        workers: Number of worker processes (≥ 1).
        devices: ``"cpu"``, ``"0,1"`` (each listed GPU gets one worker; list one twice to share it), or None
            (every visible GPU, else the CPU).
        cuda_count: Visible CUDA devices (default: ask torch).

    Raises:
        SearchError: ``workers`` < 1, a malformed list, a GPU index this machine lacks, or more workers than
            listed GPUs.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SearchError(f"--workers: must be a whole number ≥ 1, got {workers!r}")
    if cuda_count is None:
        cuda_count = _cuda_count()
    if devices is None:
        return ["cpu"] * workers if cuda_count == 0 else [str(i % cuda_count) for i in range(workers)]
    text = devices.strip().lower()
    if text == "cpu":
        return ["cpu"] * workers
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise SearchError(f"--devices: expected cpu or GPU indices separated by commas (e.g. 0,1), got {devices!r}")
    missing = sorted({int(p) for p in parts if int(p) >= cuda_count})
    if missing:
        have = "no CUDA device" if cuda_count == 0 else f"{cuda_count} CUDA device(s): 0–{cuda_count - 1}"
        raise SearchError(f"--devices: GPU {', '.join(map(str, missing))} does not exist (this machine has {have})")
    if workers > len(parts):
        raise SearchError(
            f"--workers {workers} is more than the {len(parts)} device(s) listed in --devices {devices}: one worker "
            f"per listed GPU; list a GPU more than once to share it (e.g. --devices {','.join(parts * 2)})"
        )
    return parts[:workers]


def workers_storage(storage: Any, workers: int, out: Path) -> Any:
    """The storage of a search with ``workers`` processes: ``journal://<out>/study.log`` by default for more
    than one (and for any run directory that already holds that journal), else ``storage`` unchanged.

    Raises:
        SearchError: SQLite, or a storage object, for more than one worker.
    """
    from nasgen.search._storage import display_url, storage_kind

    journal = out / "study.log"
    if storage is None:
        return f"journal://{journal.resolve()}" if workers > 1 or journal.is_file() else None
    kind = storage_kind(storage)
    if workers > 1 and kind == "sqlite":
        raise SearchError(
            f"storage {display_url(storage)!r}: SQLite is for one process at a time; with --workers leave --storage "
            "out (a JournalStorage in the run directory) or give journal:///FILE.log or postgresql://…"
        )
    if workers > 1 and kind == "object":
        raise SearchError("storage: worker processes need a storage URL they can open, not a storage object")
    return storage


def _cuda_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def worker_threads(workers: int, threads: int | None, cpu_count: int | None = None) -> int:
    """Intra-op threads per worker: ``threads``, or this machine's cores shared out (at least 1).

    Raises:
        SearchError: ``threads`` < 1.
    """
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise SearchError(f"--threads-per-worker: must be a whole number ≥ 1, got {threads!r}")
        return threads
    if cpu_count is None:
        cpu_count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cpu_count // workers)


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
    folder = plan.out / "workers"
    folder.mkdir(parents=True, exist_ok=True)
    plan_file = folder / "plan.pkl"
    plan_file.write_bytes(pickle.dumps(plan))
    procs = []
    for index, device in enumerate(plan.devices):
        log = (folder / f"{index}.log").open("w", encoding="utf-8")
        cmd = [sys.executable, "-m", "nasgen.search._worker_proc", str(plan_file), str(index)]
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


def check_picklable(objective: Callable[..., float] | None) -> None:
    """A stand-in scorer reaches worker processes by reference: it must be a module-level function.

    Raises:
        SearchError: ``objective`` cannot be pickled (a lambda, a closure, a method of a local class).
    """
    if objective is None:
        return
    try:
        pickle.dumps(objective)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise SearchError(
            f"objective: with workers > 1 the stand-in scorer must be importable by the worker processes (a "
            f"module-level function), got {objective!r} ({exc})"
        ) from None
