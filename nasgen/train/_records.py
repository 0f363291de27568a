"""What goes into and comes out of a training run: per-epoch overrides (:class:`EpochSettings`), the result
(:class:`TrainResult`) and the signal that ends a run early and keeps it (:class:`StopTraining`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from nasgen.data import DataConfig

__all__ = ["EpochSettings", "StopTraining", "TrainResult"]


class StopTraining(Exception):  # noqa: N818 -- a signal, like StopIteration, not an error
    """Raised by an ``on_epoch`` callback to end training after this epoch and keep what it trained.

    :meth:`~nasgen.train.Trainer.run` returns the :class:`TrainResult` of the epochs done (``epochs`` < the
    recipe's), the model included; any other exception from ``on_epoch`` (a pruner's) propagates and the result
    is lost. A search's time limit uses it, so a trial stopped mid-recipe keeps its weights with its partial
    score.
    """


@dataclass(frozen=True)
class EpochSettings:
    """Per-epoch overrides (EfficientNetV2 §4, Algorithm 1: image size and regularization per stage).

    Attributes:
        resolution_px: Training resolution of this epoch (px); ``None`` = ``config.resolution_px``.
        dropout: Rate of every ``nn.Dropout`` in the model this epoch; ``None`` = unchanged.
        mixup_alpha: Mixup α (Zhang et al., 2018); 0 = off.
        batch_transform: Augmentation of a uint8 batch ``(N, C, H, W)`` (e.g. RandAugment at this epoch's
            magnitude), applied before normalization; ``None`` = none.
    """

    resolution_px: int | None = None
    dropout: float | None = None
    mixup_alpha: float = 0.0
    batch_transform: Callable[[torch.Tensor], torch.Tensor] | None = None


@dataclass(frozen=True)
class TrainResult:
    """What one training run measured.

    Attributes:
        val_top1: Validation top-1 accuracy after the last epoch, in [0, 1].
        val_loss: Validation cross-entropy (nats) after the last epoch.
        epochs: Epochs completed.
        train_seconds: Wall time of training and evaluation (s), model building excluded.
        images_per_second: Training throughput (images/s, forward + backward).
        device: ``"cpu"`` or ``"cuda:0"`` etc.
        history: One dict per epoch: ``epoch``, ``train_loss``, ``val_top1``, ``val_loss``, ``lr``,
            ``resolution_px``, ``seconds``.
        model: The trained model (what the search saves with ``--save-weights``); not compared or printed.
        data_config: How the validation images were prepared for ``model`` (normalization, final size,
            classes): what exported weights must carry.
    """

    val_top1: float
    val_loss: float
    epochs: int
    train_seconds: float
    images_per_second: float
    device: str
    history: list[dict[str, float]] = field(default_factory=list)
    model: nn.Module | None = field(default=None, repr=False, compare=False)
    data_config: DataConfig | None = field(default=None, repr=False, compare=False)
