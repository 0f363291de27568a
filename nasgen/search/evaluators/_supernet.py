"""The supernet evaluator: every architecture scored in seconds by one weight-sharing supernet (``--evaluator
supernet``).

The supernet is derived from the search space and trained once per (space, data, recipe) in the run directory
(:func:`nasgen.supernet.train_supernet`: sandwich rule with in-place distillation, BigNAS §3.1); a trial's score is
its subnet's top-1 on the fixed validation split after its BatchNorm statistics are recalibrated (SPOS §3.3, OFA §3.3),
the shared weights never written. Worker processes map the trained weights from the run directory
(:func:`nasgen.supernet.load_supernet`: one copy in memory for all of them). The confirmation retrains from scratch,
so a verdict never rests on shared weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nasgen.search.evaluators._base import Evaluation, Evaluator, OnEpoch
from nasgen.spec import ArchSpec

__all__ = ["SupernetEvaluator"]


class SupernetEvaluator(Evaluator):
    """Score subnets of a trained supernet.

    Args:
        space: The search space the supernet is derived from.
        data: The prepared training data (the proxy's: a streamed folder's cache, small data as loaded).
        recipe: The :class:`~nasgen.config.SupernetRecipe`.
        seed: Seed of the supernet's training (and of the calibration images).
        run_dir: The run directory (``supernet/`` inside it); workers load the trained supernet from there.
    """

    name = "supernet"

    def __init__(self, space: Any, data: Any, recipe: Any, *, seed: int, run_dir: Path | None = None) -> None:
        self.space, self.data, self.recipe, self.seed = space, data, recipe, seed
        self.run_dir = None if run_dir is None else Path(run_dir)
        self._scorer: Any = None

    def setup(self, run_dir: Path, console: Any = None) -> list[str]:
        """Train the supernet in ``run_dir/supernet`` (or reuse or resume it there) and build the scorer.

        Raises:
            DataError: The folder holds a supernet trained on other data.
            TrainError: It holds one of another space, recipe, classes or channels.
            SpecError: A stage kind of the space has no slicing rule.
        """
        from nasgen.supernet import SubnetScorer, train_supernet

        self.run_dir = Path(run_dir)
        run = train_supernet(self.space, self.data, self.recipe, self.run_dir, seed=self.seed,
                             progress=console is not None)  # fmt: skip
        self._scorer = SubnetScorer(run.supernet, self.data, run.recipe, seed=self.seed)
        epochs = int(run.meta.get("epochs_done", self.recipe.train.epochs))
        how = "reused" if run.reused else f"trained in {run.seconds:.0f} s"
        return [f"supernet: {epochs} epoch(s) of the {self.recipe.strategy} rule, {how}, in {run.path}"]

    def _ready(self) -> Any:
        if self._scorer is None:  # a worker process: the parent trained it; map its weights
            from nasgen.errors import SearchError
            from nasgen.supernet import SubnetScorer, load_supernet

            if self.run_dir is None:
                raise SearchError("evaluator 'supernet': no run directory to find the trained supernet in")
            run = load_supernet(self.run_dir)
            self._scorer = SubnetScorer(run.supernet, self.data, run.recipe, seed=self.seed)
        return self._scorer

    def resolution_for(self, spec: ArchSpec) -> int:
        """The proxy's resolution for ``spec`` (subnets are trained and scored where the proxy would train them)."""
        from nasgen.train import proxy_resolution_for, proxy_split

        train = self.data[0] if isinstance(self.data, tuple) else proxy_split(self.data)[0]
        return proxy_resolution_for(spec, train, self.recipe.train)

    def settings(self) -> dict[str, Any]:
        """The recipe's hash: a resumed study must be scored by the same supernet recipe."""
        return {"name": self.name, "recipe": self.recipe.recipe_hash()}

    def __call__(self, spec: ArchSpec, on_epoch: OnEpoch) -> Evaluation:
        score = self._ready().score(spec)
        return Evaluation(val_top1=float(score.val_top1), train_seconds=float(score.seconds),
                          device=str(self._scorer.device))  # fmt: skip
