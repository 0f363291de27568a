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
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasgen.config import TrainConfig
from nasgen.data import DataConfig, ImageDataset, stratified_order
from nasgen.data import channel_stats, images_at, labels_of, normalize
from nasgen.errors import TrainError
from nasgen.train._averages import BnWarmup, make_ema
from nasgen.train._device import autocast_dtype, loss_check_due, pinned_transfers, resolve_device, rng_devices
from nasgen.train._optim import make_optimizer, make_scheduler
from nasgen.train._records import EpochSettings, StopTraining, TrainResult

__all__ = ["Trainer", "train_model"]


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
        self._bn_warmup = BnWarmup(self.model)
        mean, std = channel_stats(train)
        self.mean = torch.tensor(mean, device=self.device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=self.device).view(1, -1, 1, 1)
        self.generator = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.n_train = min(config.images_per_epoch or len(train), len(train))
        self.steps_per_epoch = math.ceil(self.n_train / config.batch_size)
        self.optimizer = make_optimizer(self.model, config, lr_scales)
        self.scheduler = make_scheduler(self.optimizer, config, self.steps_per_epoch)
        self.ema = make_ema(self.model, config.ema_decay)
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
