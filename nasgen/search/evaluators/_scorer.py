"""The stand-in evaluator: a user's function ``f(spec) -> float`` instead of training (tests, rediscovery)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from nasgen.search.evaluators._base import Evaluation, Evaluator, OnEpoch
from nasgen.spec import ArchSpec

__all__ = ["ScorerEvaluator"]


class ScorerEvaluator(Evaluator):
    """Wrap a stand-in scorer ``f(spec) -> float``; no training, no model built.

    Args:
        scorer: The function; higher is better. With worker processes it must be a module-level function
            (workers import it by reference).
    """

    name = "stand-in"

    def __init__(self, scorer: Callable[[ArchSpec], float]) -> None:
        self.scorer = scorer

    def __call__(self, spec: ArchSpec, on_epoch: OnEpoch) -> Evaluation:
        start = time.perf_counter()
        value = float(self.scorer(spec))
        return Evaluation(val_top1=value, train_seconds=time.perf_counter() - start)

    def settings(self) -> dict[str, Any]:
        """The name only: a stand-in's identity cannot be compared across processes."""
        return {"name": self.name}
