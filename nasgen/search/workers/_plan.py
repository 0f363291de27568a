"""``--workers N``: the plan every worker process follows, and the checks of the scale-out settings."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasgen.config import DEFAULT_HEARTBEAT_GRACE_S, DEFAULT_HEARTBEAT_INTERVAL_S
from nasgen.errors import SearchError
from nasgen.runs import RunDir
from nasgen.runs.storage import display_url, storage_kind

__all__ = ["WorkerPlan", "check_picklable", "check_scale_out", "plan_devices", "worker_threads", "workers_storage"]


@dataclass
class WorkerPlan:
    """Everything a worker process needs to join the study (pickled to ``<out>/workers/plan.pkl``).

    Attributes:
        storage: Storage URL of the study (a journal file or an RDB URL).
        study_name: The study.
        space: The ``SearchSpace`` object.
        evaluator: The evaluator's name (``proxy``, ``zero-cost:synflow`` …), built by the same factory as the
            parent's (``nasgen.search.evaluators.make_evaluator``).
        data: The data source as given (``load_dataset``); None with a stand-in objective.
        cache: The memory-mapped proxy cache the parent prepared in ``out`` (file name), which the workers map
            instead of scanning the folder again; None for in-memory data.
        fingerprint: The data's fingerprint (checked by the parent; carried for the workers' evaluators).
        proxy: The proxy ``TrainConfig`` fixed by the parent (the same for every worker), or None.
        objective: Stand-in scorer (a module-level function, pickled by reference), or None.
        evaluator_options: Evaluator-specific settings (``EvaluatorContext.options``).
        limits: Cost limits.
        freeze_kwargs: ``num_classes`` / ``in_channels`` of the data.
        sampler: Sampler name; pruner: pruner name; seed: the study's seed.
        n_trials: Finished trials the study should hold; timeout: seconds (None = no limit).
        out: Run directory.
        heartbeat: ``(interval_s, grace_s)``.
        save_weights: Keep the best trial's proxy weights.
        multi_objective: NSGA-II mode.
        epochs: The evaluator's epochs (Hyperband's maximum resource).
        devices: The device of each worker; threads: intra-op threads of each.
        feasible_start: Draw the sampler's random startup trials within ``limits`` (``SearchConfig``).
    """

    storage: str
    study_name: str
    space: Any
    evaluator: str
    data: Any
    cache: str | None
    fingerprint: str | None
    proxy: Any
    objective: Callable[..., float] | None
    evaluator_options: dict[str, Any]
    limits: Any
    freeze_kwargs: dict[str, Any]
    sampler: str
    pruner: str
    seed: int
    n_trials: int
    timeout: float | None
    out: Path
    heartbeat: tuple[int, int] = (DEFAULT_HEARTBEAT_INTERVAL_S, DEFAULT_HEARTBEAT_GRACE_S)
    save_weights: bool = False
    multi_objective: bool = False
    epochs: int = 1
    devices: list[str] = field(default_factory=list)
    threads: int = 1
    feasible_start: bool = False


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
    journal = RunDir(out).journal
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
