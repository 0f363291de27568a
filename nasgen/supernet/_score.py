"""Scoring a subnet of a trained supernet: BatchNorm recalibrated for it, then top-1 on the fixed validation split.

The shared weights are read, never written: the subnet runs on views of them with BatchNorm statistics of its
own (:meth:`Supernet.statistics`), recomputed over a fixed, seeded set of training images as a cumulative
average (SPOS, Guo et al., 2020, §3.3: without it the ranking is unstable; OFA §3.3 uses 2,000 images). The
validation subset, its normalization and the resolution are the proxy trainer's, so supernet scores and proxy
scores are read on the same images at the same size.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nasgen.config import SupernetRecipe
from nasgen.data import channel_stats, images_at, labels_of, normalize, stratified_order
from nasgen.supernet._net import Supernet
from nasgen.train import proxy_resolution_for, resolve_device

__all__ = ["SubnetScore", "SubnetScorer"]


@dataclass(frozen=True)
class SubnetScore:
    """The score of one subnet.

    Attributes:
        val_top1: Top-1 accuracy on the fixed validation subset, in [0, 1].
        val_loss: Mean cross-entropy there (nats).
        resolution_px: The input size it was scored at (the proxy's for this architecture).
        recalibrated: Whether BatchNorm statistics were recomputed for it.
        seconds: Wall time (s), recalibration included.
    """

    val_top1: float
    val_loss: float
    resolution_px: int
    recalibrated: bool
    seconds: float


class SubnetScorer:
    """Scores architectures of a supernet's space (:meth:`score`), leaving the supernet's tensors unchanged.

    Args:
        supernet: The trained supernet (any device; scoring runs there).
        data: The data it was trained on, as :func:`nasgen.supernet.train_supernet` took it.
        recipe: Its recipe (``calibration_images``, batch sizes, the resolution rule, ``val_images``).
        device: Where to run; ``None`` = the supernet's device.
        split_seed: The train/validation split seed it was trained with.
        seed: Seeds the choice of the calibration images.

    Example:
        >>> scorer = SubnetScorer(run.supernet, data, run.recipe)  # doctest: +SKIP
        >>> scorer.score(spec).val_top1  # doctest: +SKIP
        0.83
    """

    def __init__(self, supernet: Supernet, data: Any, recipe: SupernetRecipe, *, device: Any = None,
                 split_seed: int = 0, seed: int = 0) -> None:  # fmt: skip
        from nasgen.supernet._train import prepare_data

        self.supernet, self.recipe, self.config = supernet, recipe, recipe.train
        self.device = supernet.classifier.weight.device if device is None else resolve_device(device)
        self.train, self.val = prepare_data(data, supernet, recipe, split_seed)
        mean, std = channel_stats(self.train)
        self.mean = torch.tensor(mean, device=self.device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=self.device).view(1, -1, 1, 1)
        generator = torch.Generator().manual_seed(seed * 1_000_003 + 7_919)
        n_calibration = min(recipe.calibration_images, len(self.train))
        self.calibration_index = torch.randperm(len(self.train), generator=generator)[:n_calibration]
        n_val = min(self.config.val_images or len(self.val), len(self.val))
        self.val_index = torch.from_numpy(np.sort(stratified_order(self.val.labels, 0)[:n_val]))
        self.memory_format = torch.channels_last if self.config.channels_last else torch.contiguous_format

    def resolution(self, spec) -> int:
        """The input size (px) ``spec`` is scored at: the proxy's (:func:`nasgen.train.proxy_resolution_for`)."""
        return proxy_resolution_for(spec, self.train, self.config)

    def _batches(self, dataset, index: torch.Tensor, resolution: int):
        images, labels = images_at(dataset, resolution), labels_of(dataset)
        for part in index.split(self.config.eval_batch_size):
            x = normalize(images[part].to(self.device), self.mean, self.std).contiguous(memory_format=self.memory_format)
            yield x, labels[part].to(self.device)

    def _autocast(self):
        enabled = self.device.type == "cuda" and self.config.bf16
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=enabled)

    @torch.no_grad()
    def score(self, spec, *, recalibrate: bool | None = None) -> SubnetScore:
        """Top-1 of ``spec`` on the validation subset, after recalibrating its BatchNorm statistics.

        Args:
            spec: An architecture of the supernet's space.
            recalibrate: ``None`` = when ``recipe.calibration_images`` > 0; ``False`` uses the running
                statistics kept in training (the recalibration ablation).

        Raises:
            SpecError: ``spec`` is not in the space, or has other ``num_classes`` / ``in_channels``.
        """
        start = time.perf_counter()
        net = self.supernet
        recalibrate = len(self.calibration_index) > 0 if recalibrate is None else recalibrate
        resolution, mode, rate = self.resolution(spec), net.training, net.dropout_rate
        try:
            with net.active(spec):
                stats = net.fresh_statistics(spec) if recalibrate else None
                if stats is not None:
                    net.train()
                    net.dropout_rate = 0.0
                    with net.statistics(stats, cumulative=True), self._autocast():
                        for x, _ in self._batches(self.train, self.calibration_index, resolution):
                            net(x)
                net.eval()
                with net.statistics(stats) if stats is not None else contextlib.nullcontext():
                    top1, loss = self._evaluate(resolution)
        finally:
            net.train(mode)
            net.dropout_rate = rate
        return SubnetScore(top1, loss, resolution, recalibrate, time.perf_counter() - start)

    def _evaluate(self, resolution: int) -> tuple[float, float]:
        correct, loss_sum = 0, 0.0
        for x, y in self._batches(self.val, self.val_index, resolution):
            with self._autocast():
                logits = self.supernet(x).float()
            loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
        n = len(self.val_index)
        return correct / n, loss_sum / n
