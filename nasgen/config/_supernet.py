"""The recipe of a weight-sharing supernet (:func:`nasgen.supernet.train_supernet`) and of scoring its subnets."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import Field, model_validator

from nasgen.config._base import ConfigModel
from nasgen.config._train import TrainConfig

__all__ = ["SUPERNET_PRESETS", "SUPERNET_STRATEGIES", "SupernetRecipe"]

SUPERNET_STRATEGIES = ("sandwich", "uniform")
SUPERNET_PRESETS = ("quick", "cpu", "gpu")
"""Names of the recipes :func:`nasgen.supernet.supernet_recipe` returns (built from the default proxies)."""


class SupernetRecipe(ConfigModel):
    """How a supernet is trained and how each subnet is scored.

    Attributes:
        train: Optimizer, learning-rate schedule, batch, epochs, images per epoch, the resolution rule, numerics,
            validation subset (the proxy's fields, :class:`TrainConfig`). Every subnet trains and is scored at the
            resolution the proxy would train it at (``resolution_px`` scaled by ``scale_resolution_from_px``).
            ``dropout`` (when set) regularizes the largest subnet only (BigNAS §3.1); drop path is not used.
        strategy: ``"sandwich"`` (BigNAS, Yu et al., 2020, §3.1: every step the largest, the smallest and
            ``n_random`` random subnets, gradients accumulated into one update) or ``"uniform"`` (SPOS, Guo et al.,
            2020, §3.2: one random subnet per step, uniform over each dimension).
        n_random: Random subnets per sandwich step (BigNAS uses 2).
        distill: In-place distillation (BigNAS §3.1): the largest subnet learns the labels, the others its soft
            predictions of the same images; sandwich only.
        calibration_images: Training images (a fixed, seeded subset) over which each subnet's BatchNorm statistics
            are recomputed before it is scored (OFA's 2,000 ImageNet images, §3.3); 0 = score with the running
            statistics the supernet kept while training (the recalibration ablation).

    Raises:
        SpecError: An unknown field or a bad value (naming it), or ``distill`` with the uniform strategy.

    Example:
        >>> from nasgen.config import SupernetRecipe, TrainConfig
        >>> recipe = SupernetRecipe(train=TrainConfig(epochs=2))
        >>> recipe.strategy, recipe.n_random, len(recipe.recipe_hash())
        ('sandwich', 2, 16)
    """

    train: TrainConfig
    strategy: Literal[SUPERNET_STRATEGIES] = "sandwich"
    n_random: int = Field(2, ge=0, le=16)
    distill: bool = True
    calibration_images: int = Field(1000, ge=0)

    @model_validator(mode="after")
    def _distill_needs_a_teacher(self) -> SupernetRecipe:
        if self.distill and self.strategy == "uniform":
            raise ValueError("distill needs the sandwich strategy (the largest subnet is the teacher); "
                             "set distill=False with strategy='uniform'")  # fmt: skip
        return self

    def subnets_per_step(self) -> int:
        """Forward and backward passes per optimizer step: 2 + ``n_random`` (sandwich) or 1 (uniform)."""
        return 2 + self.n_random if self.strategy == "sandwich" else 1

    def training_dict(self) -> dict:
        """The settings the trained weights depend on, as JSON data: all but the scoring ones
        (``calibration_images``, ``train.val_images``, ``train.eval_batch_size``)."""
        return self.model_dump(mode="json", exclude={"calibration_images": True,
                                                     "train": {"val_images", "eval_batch_size"}})  # fmt: skip

    def recipe_hash(self) -> str:
        """First 16 hex digits of the SHA-256 of :meth:`training_dict` (a supernet is reused when it matches)."""
        text = json.dumps(self.training_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]
