"""``RunDir``: every file of a run directory, named once.

A run directory (``runs/<study>/`` by default) holds one study's outputs. Its layout::

    study.db            the Optuna study (SQLite; one process at a time)
    study.log           the study as a JournalStorage file (``--workers``)
    .nasgen-study       the name of the study that owns the directory
    .lock               the ``flock`` of the process using it (:class:`RunLock`)
    best.yaml           the best (or, after a confirmation, the recommended) architecture
    leaderboard.csv     the scored architectures, best first
    confirm.csv         the confirmation's evidence (confirm-inherited.csv: the arm started from the supernet)
    report.html         the report (its PNG figures beside it)
    trials/<n>/         arch.yaml of trial n, and weights.safetensors of the best with --save-weights
    scaled/             the compound-scaled family (``--scale-phi``)
    workers/            the worker plan and one log per worker (``--workers``)
    supernet/           the weight-sharing supernet the study scores with (``--evaluator supernet``)

Nothing else in nasgen spells these names.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from nasgen.errors import SearchError

__all__ = ["WEIGHT_FILES", "RunDir", "RunLock"]

WEIGHT_FILES = ("weights.safetensors", "weights.pt")
"""Trained-weight file names looked for in ``trials/<n>/``, in order of preference."""


@dataclass(frozen=True)
class RunDir:
    """The paths of one run directory (nothing is created by naming them).

    Args:
        root: The run directory.

    Example:
        >>> RunDir(Path("runs/demo")).trial_arch(3).as_posix()
        'runs/demo/trials/3/arch.yaml'
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def study_db(self) -> Path:
        """The SQLite study of a one-process search."""
        return self.root / "study.db"

    @property
    def journal(self) -> Path:
        """The JournalStorage file of a ``--workers`` search."""
        return self.root / "study.log"

    @property
    def marker(self) -> Path:
        """Holds the name of the study that owns the directory."""
        return self.root / ".nasgen-study"

    @property
    def lock(self) -> Path:
        """The ``flock`` file (:class:`RunLock`); it stays after a run, which is harmless by design."""
        return self.root / ".lock"

    @property
    def best_yaml(self) -> Path:
        """The best (or recommended) architecture with a comment naming its evidence."""
        return self.root / "best.yaml"

    @property
    def leaderboard_csv(self) -> Path:
        """The scored architectures, best first."""
        return self.root / "leaderboard.csv"

    @property
    def confirm_csv(self) -> Path:
        """The confirmation's evidence, one row per confirmed architecture."""
        return self.root / "confirm.csv"

    @property
    def confirm_inherited_csv(self) -> Path:
        """The second arm's evidence (``confirm --init inherited``: trained from the supernet's weights)."""
        return self.root / "confirm-inherited.csv"

    @property
    def report_html(self) -> Path:
        """The self-contained report."""
        return self.root / "report.html"

    @property
    def trials(self) -> Path:
        """The per-trial folders."""
        return self.root / "trials"

    def trial(self, number: int) -> Path:
        """``trials/<number>/``."""
        return self.trials / str(int(number))

    def trial_arch(self, number: int) -> Path:
        """``trials/<number>/arch.yaml``: the trial's architecture."""
        return self.trial(number) / "arch.yaml"

    def trial_weights(self, number: int) -> Path:
        """``trials/<number>/weights.safetensors``: where ``--save-weights`` writes the trial's proxy weights."""
        return self.trial(number) / WEIGHT_FILES[0]

    def weights_of(self, number: int) -> Path | None:
        """The trained weights kept for trial ``number`` (:data:`WEIGHT_FILES`), or None."""
        folder = self.trial(number)
        return next((folder / name for name in WEIGHT_FILES if (folder / name).is_file()), None)

    @property
    def scaled(self) -> Path:
        """The compound-scaled family (``<name>-phi<φ>.yaml``)."""
        return self.root / "scaled"

    @property
    def workers(self) -> Path:
        """The worker plan (``plan.pkl``) and the workers' logs (``<index>.log``)."""
        return self.root / "workers"

    def baseline(self, sampler: str = "random") -> Path:
        """The stored baseline the report draws beside the search (``nasgen.runs.read_baseline``)."""
        return self.root / f"baseline-{sampler}.json"

    @property
    def baseline_runs(self) -> Path:
        """The baseline's own run directories (``<sampler>-<seed>``), apart from the study."""
        return self.root / "baseline"

    @property
    def supernet(self) -> Path:
        """The trained weight-sharing supernet and its checkpoint."""
        return self.root / "supernet"

    def storage_url(self) -> str | None:
        """The URL of the study stored in this directory: its SQLite file, else its journal; None when neither
        exists."""
        if self.study_db.is_file():
            return f"sqlite:///{self.study_db.resolve()}"
        if self.journal.is_file():
            return f"journal://{self.journal.resolve()}"
        return None

    def is_run(self) -> bool:
        """Whether the directory holds a study (``study.db`` or ``study.log``)."""
        return self.study_db.is_file() or self.journal.is_file()

    def owner(self) -> str | None:
        """The study named in the marker file, or None."""
        if not self.marker.is_file():
            return None
        return self.marker.read_text(encoding="utf-8").strip() or None

    def claim(self, name: str, *, studies: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        """Refuse a directory that already belongs to another study; mark it as ``name``'s.

        The per-trial folders, ``best.yaml`` and ``leaderboard.csv`` of one directory describe one study: a second
        study written into it would overwrite ``trials/N`` of the first and leave outputs that disagree.

        Args:
            name: The study that will write here.
            studies: Names of the studies held by the directory's own ``study.db`` (if any).

        Raises:
            SearchError: The directory holds outputs or a local ``study.db`` of another study.
        """
        owners = set(studies) | ({self.owner()} - {None})
        if owners and name not in owners:
            listed = ", ".join(repr(o) for o in sorted(owners))
            raise SearchError(
                f"run directory {str(self.root)!r} holds study {listed}, not {name!r} (a study's name comes from its "
                "space and budget unless --study-name is given): resume it with the same settings or "
                "--study-name, or pass another --out for a new study"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.marker.is_file():
            self.marker.write_text(name + "\n", encoding="utf-8")


class RunLock:
    """An exclusive ``flock`` on ``<run dir>/.lock``, released when the process exits (even on SIGKILL).

    Args:
        folder: The run directory.

    Raises:
        SearchError: Another process holds the lock; the message names its pid and what to do.
    """

    def __init__(self, folder: Path) -> None:
        self.path = RunDir(folder).lock
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise SearchError(
                f"{self.path.parent}: another nasgen search (pid {holder}) is using this run directory; wait for it "
                f"to end (or stop it: kill -INT {holder}, and the same command resumes), or pass another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
