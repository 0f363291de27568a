"""The evaluator protocol: what scores one feasible architecture, and everything the search asks of it.

Costly evaluators are kept apart from the cheap profiler (``nasgen.cost``), as NNI keeps its profilers apart from
its evaluators: the objective costs every sample analytically and hands only feasible ones to an evaluator.
The search, its workers, the time limit, the noise measurement, the confirmation and the report ask an evaluator
for nothing but what :class:`Evaluator` declares (in the spirit of Optuna's ``samplers/_base.py``); one factory
(:func:`~nasgen.search.evaluators.make_evaluator`) builds each from the search's settings.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasgen.spec import ArchSpec

__all__ = ["Evaluation", "Evaluator", "OnEpoch"]

OnEpoch = Callable[[int, float], None]
"""``on_epoch(epoch, val_top1)``: called after each training epoch (0-based); may raise ``optuna.TrialPruned``."""


@dataclass(frozen=True)
class Evaluation:
    """The score of one architecture.

    Attributes:
        val_top1: Validation top-1 accuracy (fraction in [0, 1]), or a score on the evaluator's own scale
            (a stand-in's, a zero-cost score): higher is better either way.
        epochs: Epochs trained (0 for a score without training).
        train_seconds: Wall time of scoring in s.
        device: Where it ran (``"cpu"``, ``"cuda:0"``; ``"none"`` for a stand-in scorer).
        state_dict: Trained weights (name → tensor) when the evaluator kept them, else ``None``.
        data_config: How the images were prepared (``nasgen.data.DataConfig``), saved with the weights.
    """

    val_top1: float
    epochs: int = 0
    train_seconds: float = 0.0
    device: str = "none"
    state_dict: dict[str, Any] | None = None
    data_config: Any = None


class Evaluator(abc.ABC):
    """Scores feasible architectures for a search.

    A subclass implements :meth:`__call__`; the rest has defaults that fit a score without training. The search
    calls :meth:`setup` once per study (before any trial, in the process that created the study), then the
    evaluator once per feasible trial, in this process or in a worker process that built its own evaluator with
    the same factory and settings.

    Attributes:
        name: What is recorded on every trial it scores (``TrialRecord.evaluator``) and shown in the leaderboard
            and report: ``"proxy"``, ``"supernet"``, ``"zero-cost:synflow"``, ``"stand-in"``.
    """

    name: str = "evaluator"

    @abc.abstractmethod
    def __call__(self, spec: ArchSpec, on_epoch: OnEpoch) -> Evaluation:
        """Score ``spec`` (an architecture within every limit, frozen for the search's data).

        Raises:
            optuna.TrialPruned: ``on_epoch`` pruned it.
            NasgenError, RuntimeError, ArithmeticError, MemoryError, ValueError: The trial fails with this reason
                (the search goes on).
        """

    def setup(self, run_dir: Path, console: Any = None) -> list[str]:
        """One-time preparation per study, before the first trial (e.g. training a supernet, stored in
        ``run_dir``); returns notes for the user. Default: nothing to prepare."""
        return []

    @property
    def epochs(self) -> int:
        """Epochs reported through ``on_epoch`` (the pruners' maximum resource); 1 for a one-shot score."""
        return 1

    @property
    def batch_size(self) -> int | None:
        """The training batch size whose step time the ``v2`` reward and ``--max-step-time`` predict, or None."""
        return None

    @property
    def seeded(self) -> bool:
        """Whether the score depends on a seed, so its noise can be measured by :meth:`with_seed`."""
        return False

    def with_seed(self, seed: int) -> Evaluator:
        """The same evaluator scoring with ``seed`` (a seeded evaluator's noise measurement).

        Raises:
            SearchError: The evaluator has no seed (:attr:`seeded` is False).
        """
        from nasgen.errors import SearchError

        raise SearchError(f"evaluator {self.name!r} has no seed to vary")

    def resolution_for(self, spec: ArchSpec) -> int | None:
        """The resolution (px) it scores ``spec`` at; None when it builds no model (a stand-in scorer)."""
        return None

    def estimate_seconds(self, spec: ArchSpec) -> tuple[float, float] | None:
        """Measured ``(seconds per epoch, seconds in all)`` to score ``spec`` here, for the search's time limit;
        None when it is too cheap to matter."""
        return None

    def settings(self) -> dict[str, Any]:
        """What a resumed study must agree on (recorded as the study attribute ``evaluator``): the name and the
        settings that change scores."""
        return {"name": self.name}
