"""Evaluators: what scores one feasible architecture — proxy training on real data, or a stand-in scorer.

Costly evaluators are kept apart from the cheap profiler (``nasgen.cost``), as NNI does: the objective
costs every sample analytically and only hands feasible ones to an evaluator.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from nasgen.spec import ArchSpec

__all__ = ["Evaluation", "Evaluator", "OnEpoch", "ProxyEvaluator", "ScorerEvaluator"]

def release_heap() -> None:
    """Give the memory freed by a trained trial back to the system: ``gc.collect()``, then glibc's
    ``malloc_trim(0)`` (Linux; elsewhere the collection only).

    glibc keeps freed heap pages for reuse, so without this a search's resident set climbs to the high-water
    mark of the largest architecture trained so far and stays there (``benchmarks/rss_trials.py``, 100 real
    trials: +34.5 % from trial 10 to 100 without, +2.4 % with). Costs well under a second a trial.
    """
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return
    trim(0)


OnEpoch = Callable[[int, float], None]
"""``on_epoch(epoch, val_top1)``: called after each proxy epoch; may raise ``optuna.TrialPruned``."""


@dataclass(frozen=True)
class Evaluation:
    """The score of one architecture.

    Attributes:
        val_top1: Validation top-1 accuracy (fraction in [0, 1]) or a stand-in score.
        epochs: Epochs trained (0 for a stand-in scorer).
        train_seconds: Wall time of training in s (0 for a stand-in scorer).
        device: Device trained on (``"cpu"``, ``"cuda:0"``; ``"none"`` for a stand-in scorer).
        state_dict: Trained weights (name → tensor) when the evaluator kept them, else ``None``.
        data_config: How the proxy prepared its images (``nasgen.data.DataConfig``), saved with the weights.
    """

    val_top1: float
    epochs: int = 0
    train_seconds: float = 0.0
    device: str = "none"
    state_dict: dict[str, Any] | None = None
    data_config: Any = None


class Evaluator(Protocol):
    """Scores a feasible architecture; ``on_epoch`` reports intermediate values for pruning."""

    def __call__(self, spec: ArchSpec, on_epoch: OnEpoch) -> Evaluation: ...


class ScorerEvaluator:
    """Wrap a stand-in scorer ``f(spec) -> float`` (tests, rediscovery experiments); no training."""

    def __init__(self, scorer: Callable[[ArchSpec], float]) -> None:
        self._scorer = scorer

    def __call__(self, spec: ArchSpec, on_epoch: OnEpoch) -> Evaluation:
        start = time.perf_counter()
        value = float(self._scorer(spec))
        return Evaluation(val_top1=value, train_seconds=time.perf_counter() - start)


class ProxyEvaluator:
    """Proxy training on real data through ``nasgen.train.evaluate_proxy`` (issue 7's protocol).

    Every trial trains with the same ``seed``, so all architectures see the same data order and the same
    validation subset, and differences in score come from the architecture rather than from the seed.

    Args:
        dataset: The loaded dataset (``nasgen.data.load_dataset``).
        config: The proxy training configuration (``nasgen.train.default_proxy`` plus overrides).
        seed: Training seed shared by every trial.
        keep_weights: Return the trained ``state_dict`` (for ``--save-weights``).
    """

    def __init__(self, dataset: Any, config: Any, *, seed: int, keep_weights: bool = False) -> None:
        self.dataset = dataset
        self.config = config
        self.seed = seed
        self.keep_weights = keep_weights

    def resolution_for(self, spec: ArchSpec) -> int:
        """The resolution (px) the proxy trains ``spec`` at (``nasgen.train.proxy_resolution``)."""
        from nasgen.train._proxy import _split_once, proxy_resolution_for

        train, _ = self.dataset if isinstance(self.dataset, tuple) else _split_once(self.dataset, 0)
        return proxy_resolution_for(spec, train, self.config)

    def estimate_seconds(self, spec: ArchSpec) -> tuple[float, float] | None:
        """Measured ``(seconds per epoch, seconds in all)`` of this proxy on ``spec`` (a few timed steps;
        ``nasgen.train.estimate_proxy_seconds``), or None when unknown."""
        import nasgen.train

        return nasgen.train.estimate_proxy_seconds(spec, self.dataset, self.config, seed=self.seed)

    def __call__(self, spec: ArchSpec, on_epoch: OnEpoch) -> Evaluation:
        from nasgen.train import evaluate_proxy

        try:
            result = evaluate_proxy(spec, self.dataset, self.config, seed=self.seed, on_epoch=on_epoch)
        except BaseException:
            release_heap()  # a pruned or failed trial's tensors too
            raise
        weights = None
        if self.keep_weights and getattr(result, "model", None) is not None:
            weights = {name: tensor.detach().cpu().contiguous() for name, tensor in result.model.state_dict().items()}
        release_heap()
        return Evaluation(
            val_top1=float(result.val_top1),
            epochs=int(result.epochs),
            train_seconds=float(result.train_seconds),
            device=str(result.device),
            state_dict=weights,
            data_config=getattr(result, "data_config", None),
        )
