"""The running averages a short run needs corrected: BatchNorm statistics from the first update
(:class:`BnWarmup`), and the weights' exponential moving average with its warm-up (:func:`make_ema`).

Both start from a state the first updates should outweigh (PyTorch's running variance of 1, the initial
weights) and would keep ``(1 − m)^n`` of it after ``n`` updates; each warms its rate up instead (a cumulative
average for BatchNorm, TensorFlow's ``(1 + n) / (10 + n)`` for the EMA).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["BnWarmup", "ema_decay_at", "make_ema"]


class BnWarmup:
    """Bias-corrected BatchNorm running statistics: momentum ``max(m, 1 / (n + 1))`` at BatchNorm update ``n``.

    PyTorch starts the running mean at 0 and the running variance at 1 and then keeps ``(1 − m)^n`` of that
    start after ``n`` updates: 1.5% after 40 steps at ``m = 0.1`` (a short run on a few hundred images), 67% at
    ``m = 0.01``. Layers whose true variance is far below that remnant (common on smooth, upscaled images,
    where it was 10–100× smaller, issue 14) are then shrunk in eval mode, and a net that is 100% right in train
    mode predicts one class. Averaging cumulatively until ``1 / (n + 1)`` falls to ``m`` (PyTorch's
    ``momentum=None`` rule; the same idea as TF's ``ExponentialMovingAverage(num_updates=…)`` warm-up) makes the
    running statistics an average of batch statistics only. Training itself is unchanged (train-mode
    BatchNorm uses batch statistics); after ``1/m`` updates the usual exponential average takes over.

    The update counts are read from ``num_batches_tracked`` once per epoch (so resumed runs continue exactly)
    and counted on the host within the epoch, avoiding a device sync per step.
    """

    def __init__(self, model: nn.Module) -> None:
        self.layers = [
            (m, m.momentum) for m in model.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats and m.momentum is not None
        ]  # fmt: skip
        self.counts: list[int] = []

    def begin(self) -> None:
        self.counts = [int(m.num_batches_tracked) for m, _ in self.layers]

    def step(self) -> None:
        for i, (module, momentum) in enumerate(self.layers):
            n = self.counts[i]
            module.momentum = max(momentum, 1.0 / (n + 1))
            self.counts[i] = n + 1

    def end(self) -> None:
        for module, momentum in self.layers:
            module.momentum = momentum


def ema_decay_at(decay: float, num_updates: int) -> float:
    """The EMA decay used at update ``num_updates`` (0-based): ``min(decay, (1 + n) / (10 + n))``.

    The warm-up is TensorFlow's ``ExponentialMovingAverage(num_updates=…)`` rule, also used by the EfficientNet
    reference code (Tan & Le, 2019, §5.2 trains with an EMA of decay 0.9999). Without it, an average started
    at initialization keeps ``decay**n`` of the initial weights and BatchNorm statistics; with BatchNorm
    running variances of about 1 at initialization and orders of magnitude smaller after a few hundred steps,
    that remainder alone makes a short run's averaged model predict a single class.
    """
    return min(decay, (1.0 + num_updates) / (10.0 + num_updates))


def _ema_multi_avg_fn(decay: float):
    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], num_averaged) -> None:
        d = ema_decay_at(decay, int(num_averaged))
        if torch.is_floating_point(averaged[0]) or torch.is_complex(averaged[0]):
            torch._foreach_lerp_(averaged, current, 1.0 - d)
        else:  # integer buffers (BatchNorm's num_batches_tracked): follow the model
            torch._foreach_copy_(averaged, current)

    return update


def make_ema(model: nn.Module, decay: float | None) -> Any:
    """An ``AveragedModel`` of ``model`` (parameters and buffers) updated with :func:`ema_decay_at`'s decay;
    ``None`` when ``decay`` is ``None`` (no EMA)."""
    if decay is None:
        return None
    from torch.optim.swa_utils import AveragedModel

    return AveragedModel(model, multi_avg_fn=_ema_multi_avg_fn(decay), use_buffers=True)
