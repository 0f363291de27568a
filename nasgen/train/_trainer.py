"""The trainer behind proxies and full runs: seeded, deterministic data order, eval-mode validation.

Extension points for schedules such as EfficientNetV2's progressive learning (``progressive.py``):
``epoch_settings(epoch) → EpochSettings`` changes resolution, dropout, mixup α and a uint8 batch transform
(e.g. RandAugment) per epoch; :class:`Trainer` exposes ``state_dict`` / ``load_state_dict`` and a
``start_epoch`` for checkpoint/resume, and ``make_optimizer`` / ``make_scheduler`` can be replaced.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasgen.config import TrainConfig
from nasgen.data import DataConfig, ImageDataset, stratified_order
from nasgen.data import channel_stats, images_at, labels_of, normalize
from nasgen.errors import TrainError
from nasgen.train._device import autocast_dtype, loss_check_due, pinned_transfers, resolve_device, rng_devices
from nasgen.train._optim import make_optimizer, make_scheduler

__all__ = ["EpochSettings", "StopTraining", "TrainResult", "Trainer", "resolve_device", "train_model"]


class StopTraining(Exception):  # noqa: N818 -- a signal, like StopIteration, not an error
    """Raised by an ``on_epoch`` callback to end training after this epoch and keep what it trained.

    :meth:`Trainer.run` returns the :class:`TrainResult` of the epochs done (``epochs`` < the recipe's), the model
    included; any other exception from ``on_epoch`` (a pruner's) propagates and the result is lost. A search's time
    limit uses it, so a trial stopped mid-recipe keeps its weights with its partial score.
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


class Trainer:
    """One training run of ``model`` on ``train``, validated on ``val``.

    Args:
        model: Any classifier mapping ``(N, C, H, W)`` float images to ``(N, num_classes)`` logits.
        train: Training images.
        val: Validation images (a fixed class-balanced subset of ``config.val_images`` is used).
        config: The recipe.
        seed: Seeds data order, subsampling, dropout and mixup (through a private generator and a forked
            global RNG, so the caller's RNG state is untouched).
        device: See :func:`resolve_device`.
        epoch_settings: ``epoch → EpochSettings`` for per-epoch schedules (progressive learning).
        lr_scales: ``{parameter name: factor}`` of parameters that train at ``config.lr`` × factor
            (fine-tuning, :func:`~nasgen.train.make_optimizer`).
    """

    def __init__(
        self,
        model: nn.Module,
        train: ImageDataset,
        val: ImageDataset,
        config: TrainConfig,
        *,
        seed: int,
        device: str | torch.device | None = None,
        epoch_settings: Callable[[int], EpochSettings] | None = None,
        lr_scales: Mapping[str, float] | None = None,
    ) -> None:
        self.config, self.seed, self.train_set, self.val_set = config, seed, train, val
        self.device = resolve_device(device)
        self.epoch_settings = epoch_settings or (lambda epoch: EpochSettings())
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        self.model = model.to(self.device, memory_format=self.memory_format)
        if config.bn_momentum is not None:
            for module in self.model.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.momentum = config.bn_momentum
        self._bn_warmup = _BnWarmup(self.model)
        mean, std = channel_stats(train)
        self.mean = torch.tensor(mean, device=self.device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=self.device).view(1, -1, 1, 1)
        self.generator = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.n_train = min(config.images_per_epoch or len(train), len(train))
        self.steps_per_epoch = math.ceil(self.n_train / config.batch_size)
        self.optimizer = make_optimizer(self.model, config, lr_scales)
        self.scheduler = make_scheduler(self.optimizer, config, self.steps_per_epoch)
        self.ema = _make_ema(self.model, config.ema_decay)
        n_val = min(config.val_images or len(val), len(val))
        self.val_index = torch.from_numpy(np.sort(stratified_order(val.labels, 0)[:n_val]))
        self.start_epoch = 0
        self.history: list[dict[str, float]] = []

    # -- one epoch -------------------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> float:
        """Train one epoch; return the mean training loss.

        Raises:
            TrainError: The loss became NaN or infinite.
        """
        settings = self.epoch_settings(epoch)
        resolution = settings.resolution_px or self.config.resolution_px
        if settings.dropout is not None:
            for module in self.model.modules():
                if isinstance(module, nn.Dropout):
                    module.p = settings.dropout
        images, labels = images_at(self.train_set, resolution), labels_of(self.train_set)
        order = torch.randperm(len(labels), generator=self.generator)[: self.n_train]
        self.model.train()
        total, count = torch.zeros((), device=self.device), 0
        self._bn_warmup.begin()
        for step, batch_index in enumerate(order.split(self.config.batch_size)):
            x, y = self._batch(images, labels, batch_index, settings.batch_transform)
            self._bn_warmup.step()
            loss = self._step(x, y, settings.mixup_alpha)
            if loss_check_due(self.device, step, self.steps_per_epoch):
                if not math.isfinite(loss.item()):
                    raise TrainError(f"loss became {loss.item()} at epoch {epoch} step {step}")
            total += loss.detach() * len(y)
            count += len(y)
        self._bn_warmup.end()
        return float(total) / max(count, 1)

    def _batch(self, images, labels, index, transform) -> tuple[torch.Tensor, torch.Tensor]:
        non_blocking = pinned_transfers(self.device)
        x = images[index]
        if transform is not None:
            x = transform(x)
        x = normalize(x.to(self.device, non_blocking=non_blocking), self.mean, self.std)
        return x.contiguous(memory_format=self.memory_format), labels[index].to(self.device, non_blocking=non_blocking)

    def _step(self, x: torch.Tensor, y: torch.Tensor, mixup_alpha: float) -> torch.Tensor:
        lam, perm = 1.0, None
        if mixup_alpha > 0:
            lam = float(self.rng.beta(mixup_alpha, mixup_alpha))
            perm = torch.randperm(len(y), generator=self.generator).to(self.device)
            x = lam * x + (1 - lam) * x[perm]
        with self._autocast():
            logits = self.model(x)
            loss = F.cross_entropy(logits.float(), y, label_smoothing=self.config.label_smoothing)
            if perm is not None:
                loss = lam * loss + (1 - lam) * F.cross_entropy(
                    logits.float(), y[perm], label_smoothing=self.config.label_smoothing
                )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip_norm is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip_norm)
        self.optimizer.step()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        return loss

    def _autocast(self):
        dtype = autocast_dtype(self.device, self.config.bf16)
        return torch.autocast(self.device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)

    # -- evaluation ------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, resolution_px: int | None = None) -> tuple[float, float]:
        """Top-1 accuracy and mean cross-entropy on the fixed validation subset, in eval mode.

        Eval-mode BatchNorm uses running statistics, so the result does not depend on batch composition.
        """
        model = self.ema.module if self.ema is not None else self.model
        model.eval()
        images = images_at(self.val_set, resolution_px or self.config.resolution_px)
        labels = labels_of(self.val_set)
        correct, loss_sum = 0, 0.0
        for index in self.val_index.split(self.config.eval_batch_size):
            x, y = self._batch(images, labels, index, None)
            with self._autocast():
                logits = model(x).float()
            loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
        n = len(self.val_index)
        return correct / n, loss_sum / n

    @torch.no_grad()
    def recalibrate_bn(self, resolution_px: int, epoch: int = 0) -> None:
        """Re-estimate BatchNorm running statistics as a cumulative average over training batches.

        The running averages lag behind the weights (each is an average over the last ~``1/momentum``
        steps, taken while the weights moved); recomputing them with the current weights (as one-shot NAS
        does for sub-networks, Guo et al., 2020, §3.3) removes that lag. Only BatchNorm layers run in train
        mode (dropout and drop path off, as at evaluation). The images are drawn with a generator seeded by
        ``seed`` and ``epoch``, so the training data order does not depend on whether this runs.
        """
        model = self.ema.module if self.ema is not None else self.model
        bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        saved = [m.momentum for m in bns]
        for m in bns:
            m.reset_running_stats()
            m.momentum = None
        images, labels = images_at(self.train_set, resolution_px), labels_of(self.train_set)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch + 7_919)
        index = torch.randperm(len(labels), generator=generator)[: self.config.bn_recalibration_images]
        model.eval()
        for m in bns:
            m.train()
        for batch_index in index.split(self.config.batch_size):
            x, _ = self._batch(images, labels, batch_index, None)
            with self._autocast():
                model(x)
        for m, momentum in zip(bns, saved):
            m.momentum = momentum

    def data_config(self, resolution_px: int | None = None) -> DataConfig:
        """How this trainer prepares validation images: normalization, size (px), classes."""
        size = resolution_px or self.config.resolution_px
        return DataConfig(
            mean=tuple(float(v) for v in self.mean.flatten()), std=tuple(float(v) for v in self.std.flatten()),
            input_size=(self.train_set.in_channels, size, size), num_classes=self.train_set.num_classes,
            classes=tuple(self.train_set.classes), dataset=self.train_set.name,
        )  # fmt: skip

    # -- the run ---------------------------------------------------------------------------------
    def run(self, on_epoch: Callable[[int, float], None] | None = None) -> TrainResult:
        """Train from ``start_epoch`` to ``config.epochs``; call ``on_epoch(epoch, val_top1)`` after each.

        :class:`StopTraining` raised by ``on_epoch`` ends training there and returns what was trained; other
        exceptions raised by ``on_epoch`` (a pruner's) propagate unchanged.

        Raises:
            TrainError: The loss became NaN or infinite.
        """
        start, train_time, trained = time.perf_counter(), 0.0, 0
        with torch.random.fork_rng(devices=rng_devices(self.device), device_type="cuda"):
            val_top1, val_loss = 0.0, float("inf")
            for epoch in range(self.start_epoch, self.config.epochs):
                # Dropout / drop-path draw from the (forked) global RNG: seeding it per epoch makes a run
                # resumed at any epoch boundary identical to an uninterrupted one.
                torch.manual_seed(self.seed * 1_000_003 + epoch)
                t0 = time.perf_counter()
                train_loss = self.train_epoch(epoch)
                train_time += time.perf_counter() - t0
                trained += self.n_train
                resolution = self.epoch_settings(epoch).resolution_px or self.config.resolution_px
                if self.config.bn_recalibration_images:
                    self.recalibrate_bn(resolution, epoch)
                val_top1, val_loss = self.evaluate(resolution)
                self.history.append(
                    {
                        "epoch": epoch, "train_loss": train_loss, "val_top1": val_top1, "val_loss": val_loss,
                        "lr": self.optimizer.param_groups[0]["lr"], "resolution_px": resolution,
                        "seconds": time.perf_counter() - t0,
                    }
                )
                self.start_epoch = epoch + 1
                if on_epoch is not None:
                    try:
                        on_epoch(epoch, val_top1)
                    except StopTraining:
                        break
        return TrainResult(
            val_top1=val_top1, val_loss=val_loss, epochs=self.start_epoch, train_seconds=time.perf_counter() - start,
            images_per_second=trained / train_time if train_time else 0.0, device=str(self.device),
            history=list(self.history), model=self.model,
            data_config=self.data_config(int(self.history[-1]["resolution_px"]) if self.history else None),
        )

    # -- checkpointing ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: model, optimizer, scheduler, EMA, RNG states, epoch, history."""
        return {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "ema": self.ema.state_dict() if self.ema else None,
            "generator": self.generator.get_state(), "rng": self.rng.bit_generator.state,
            "start_epoch": self.start_epoch, "history": list(self.history),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (the model architecture and config must match)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])
        self.generator.set_state(state["generator"])
        self.rng.bit_generator.state = state["rng"]
        self.start_epoch, self.history = int(state["start_epoch"]), list(state["history"])


class _BnWarmup:
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


def _make_ema(model: nn.Module, decay: float | None):
    if decay is None:
        return None
    from torch.optim.swa_utils import AveragedModel

    return AveragedModel(model, multi_avg_fn=_ema_multi_avg_fn(decay), use_buffers=True)


def train_model(
    model: nn.Module,
    train: ImageDataset,
    val: ImageDataset,
    config: TrainConfig,
    *,
    seed: int,
    device: str | torch.device | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
    epoch_settings: Callable[[int], EpochSettings] | None = None,
) -> TrainResult:
    """Train ``model`` on ``train`` and report validation top-1 on ``val``.

    Args:
        model: Classifier ``(N, C, H, W) → (N, num_classes)``; trained in place.
        train: Training images: an in-memory dataset (uint8 ``(N, H, W, C)``; resized once per resolution and
            cached) or streamed files (``load_dataset(folder)``: random-resized crops decoded per epoch at the
            epoch's size by DataLoader workers, :class:`~nasgen.train._stream.StreamTrainer`).
        val: Validation images, of the same kind as ``train``.
        config: The recipe (:class:`TrainConfig`).
        seed: Seeds data order, per-epoch subsampling, dropout and mixup; the global RNG is left as it was.
        device: ``None`` = CUDA (bf16 autocast, channels_last) when available, else CPU (channels_last).
        on_epoch: Called as ``on_epoch(epoch, val_top1)`` after each epoch; its exceptions propagate (the
            search's pruner raises there).
        epoch_settings: Per-epoch overrides (:class:`EpochSettings`), e.g. progressive learning.

    Returns:
        The :class:`TrainResult`.

    Raises:
        TrainError: The loss became NaN/inf, or CUDA was requested but is not available.
        DataError: A streamed file cannot be decoded (named).
    """
    from nasgen.data import ImageFiles

    if isinstance(train, ImageFiles):  # streamed: decoded per epoch at each epoch's size, as nasgen.train.train
        from nasgen.train._stream import StreamTrainer as trainer_class
    else:
        trainer_class = Trainer
    trainer = trainer_class(model, train, val, config, seed=seed, device=device, epoch_settings=epoch_settings)
    return trainer.run(on_epoch)
