"""The proxy evaluator: each architecture trained from scratch, briefly, on real data (issue 7's protocol)."""

from __future__ import annotations

from typing import Any

from nasgen.search.evaluators._base import Evaluation, Evaluator, OnEpoch
from nasgen.spec import ArchSpec

__all__ = ["ProxyEvaluator", "release_heap"]


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


class ProxyEvaluator(Evaluator):
    """Proxy training on real data through :func:`nasgen.train.evaluate_proxy`.

    Every trial trains with the same ``seed``, so all architectures see the same data order and the same
    validation subset, and differences in score come from the architecture rather than from the seed.

    Args:
        dataset: The prepared training data (in memory: small data as loaded, a streamed folder's proxy cache).
        config: The proxy recipe (``nasgen.train.default_proxy`` plus overrides).
        seed: Training seed shared by every trial.
        keep_weights: Return the trained ``state_dict`` (for ``--save-weights``).
    """

    name = "proxy"

    def __init__(self, dataset: Any, config: Any, *, seed: int, keep_weights: bool = False) -> None:
        self.dataset = dataset
        self.config = config
        self.seed = seed
        self.keep_weights = keep_weights

    @property
    def epochs(self) -> int:
        """The recipe's epochs."""
        return int(self.config.epochs)

    @property
    def batch_size(self) -> int:
        """The recipe's batch size."""
        return int(self.config.batch_size)

    @property
    def seeded(self) -> bool:
        """A proxy score depends on its seed (initialization, data order)."""
        return True

    def with_seed(self, seed: int) -> ProxyEvaluator:
        """The same recipe on the same data with another seed (weights not kept)."""
        return ProxyEvaluator(self.dataset, self.config, seed=seed)

    def resolution_for(self, spec: ArchSpec) -> int:
        """The resolution (px) the proxy trains ``spec`` at (:func:`nasgen.train.proxy_resolution_for`)."""
        from nasgen.train import proxy_resolution_for, proxy_split

        train = self.dataset[0] if isinstance(self.dataset, tuple) else proxy_split(self.dataset)[0]
        return proxy_resolution_for(spec, train, self.config)

    def estimate_seconds(self, spec: ArchSpec) -> tuple[float, float] | None:
        """Measured ``(seconds per epoch, seconds in all)`` of this proxy on ``spec`` (a few timed steps;
        :func:`nasgen.train.estimate_proxy_seconds`)."""
        from nasgen.train import estimate_proxy_seconds

        return estimate_proxy_seconds(spec, self.dataset, self.config, seed=self.seed)

    def settings(self) -> dict[str, Any]:
        """The evaluator's name (the recipe itself is the study's ``proxy`` attribute, compared on resume)."""
        return {"name": self.name}

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
