"""The zero-cost evaluator: a score of the network at initialization, no training (``zero-cost:<score>``).

Scores (``nasgen.train.ZERO_COST_SCORES``): synflow (Tanaka et al., 2020), NASWOT (Mellor et al., ICML 2021), grad
norm and SNIP (Abdelfattah et al., ICLR 2021). How well each ranks architectures against longer training on the
embedded data is measured in ``docs/proxy.md`` ("Scores for the same cost"); they cost a second or two a trial.
"""

from __future__ import annotations

import time
from typing import Any

from nasgen.search.evaluators._base import Evaluation, Evaluator, OnEpoch
from nasgen.spec import ArchSpec

__all__ = ["ZeroCostEvaluator"]


class ZeroCostEvaluator(Evaluator):
    """Score an architecture by one zero-cost score on the proxy's model, resolution and data.

    Args:
        score: A key of ``nasgen.train.ZERO_COST_SCORES`` (``synflow``, ``naswot``, ``grad_norm``, ``snip``).
        dataset: The prepared training data (the batch is drawn from its training split).
        config: The proxy recipe that sets the resolution.
        seed: Seed of the initialization and of the batch.
        batch_size: Images in the batch.

    Raises:
        SearchError: An unknown score name (naming the known ones).
    """

    def __init__(self, score: str, dataset: Any, config: Any, *, seed: int, batch_size: int = 64) -> None:
        from nasgen.errors import SearchError
        from nasgen.train import ZERO_COST_SCORES

        if score not in ZERO_COST_SCORES:
            raise SearchError(
                f"evaluator: unknown zero-cost score {score!r}; expected zero-cost:<score> with one of "
                f"{', '.join(ZERO_COST_SCORES)}"
            )
        self.score = score
        self.name = f"zero-cost:{score}"
        self.dataset = dataset
        self.config = config
        self.seed = seed
        self.batch_size_images = batch_size

    @property
    def seeded(self) -> bool:
        """The score depends on the initialization and the batch."""
        return True

    def with_seed(self, seed: int) -> ZeroCostEvaluator:
        """The same score with another initialization and batch."""
        return ZeroCostEvaluator(self.score, self.dataset, self.config, seed=seed, batch_size=self.batch_size_images)

    def resolution_for(self, spec: ArchSpec) -> int:
        """The proxy's resolution for ``spec`` (the model scored is the proxy's)."""
        from nasgen.train import proxy_resolution_for, proxy_split

        train = self.dataset[0] if isinstance(self.dataset, tuple) else proxy_split(self.dataset)[0]
        return proxy_resolution_for(spec, train, self.config)

    def settings(self) -> dict[str, Any]:
        """The score and its batch size."""
        return {"name": self.name, "batch_size": self.batch_size_images}

    def __call__(self, spec: ArchSpec, on_epoch: OnEpoch) -> Evaluation:
        from nasgen.train import zero_cost_scores

        start = time.perf_counter()
        value = zero_cost_scores(
            spec, self.dataset, [self.score], seed=self.seed, batch_size=self.batch_size_images, config=self.config
        )[self.score]
        return Evaluation(val_top1=float(value), train_seconds=time.perf_counter() - start, device="cpu")
