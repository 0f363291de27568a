"""The trainer on streamed data: :class:`~nasgen.data._files.ImageFiles` decoded per epoch by DataLoader workers.

Same loop, optimizer, schedule, checkpoint state and seeding as :class:`~nasgen.train._trainer.Trainer`; only
where batches come from differs. Training batches are random-resized crops at the epoch's image size (so a
progressive schedule really trains at each stage's size), evaluation and BatchNorm recalibration batches are
resized and centre-cropped at the evaluation size. The data order is the core trainer's (``randperm`` from its
checkpointed generator); the augmentation draws are seeded per epoch, so a resumed run repeats them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nasgen.config import TrainConfig
from nasgen.data import BadImages, ImageFiles, make_loader
from nasgen.errors import TrainError
from nasgen.train._device import loss_check_due, pinned_transfers
from nasgen.train._records import EpochSettings
from nasgen.train._trainer import Trainer

__all__ = ["StreamTrainer"]


class StreamTrainer(Trainer):
    """A :class:`Trainer` whose images are decoded on the fly from files at their real resolution.

    Args:
        model: Classifier ``(N, C, H, W) → (N, num_classes)``.
        train: Training files.
        val: Validation files (a fixed class-balanced subset of ``config.val_images`` is used).
        config: The recipe.
        seed: As for :class:`Trainer`; also seeds each epoch's augmentation (per file, whatever the workers).
        device: See :func:`~nasgen.train.resolve_device`.
        epoch_settings: ``epoch → EpochSettings`` (e.g. progressive learning's size per epoch).
        loader_workers: Decode processes (``None`` = cores − 1, 1…8; 0 = decode in this process).
        skip_bad_images: Leave out files that cannot be decoded (listed in ``bad_images.skipped``) instead of
            failing with the first one's path.
        seen_sizes: When given, every training batch's ``(H, W)`` is appended (what the model was fed).
    """

    def __init__(
        self,
        model: nn.Module,
        train: ImageFiles,
        val: ImageFiles,
        config: TrainConfig,
        *,
        seed: int,
        device: str | torch.device | None = None,
        epoch_settings: Callable[[int], EpochSettings] | None = None,
        loader_workers: int | None = None,
        skip_bad_images: bool = False,
        seen_sizes: list[tuple[int, int]] | None = None,
        lr_scales: Mapping[str, float] | None = None,
    ) -> None:
        self.loader_workers, self.bad_images, self.seen_sizes = loader_workers, BadImages(skip_bad_images), seen_sizes
        super().__init__(model, train, val, config, seed=seed, device=device, epoch_settings=epoch_settings,
                         lr_scales=lr_scales)  # fmt: skip

    def _loader(self, files: ImageFiles, resolution: int, *, train: bool, order: Any, seed: int, batch_size: int):
        return make_loader(
            files, resolution, train=train, batch_size=batch_size, workers=self.loader_workers, order=order,
            seed=seed, pin_memory=pinned_transfers(self.device),
        )  # fmt: skip

    def train_epoch(self, epoch: int) -> float:
        """Train one epoch on freshly decoded, augmented images; return the mean training loss.

        Raises:
            TrainError: The loss became NaN or infinite.
            DataError: A file cannot be decoded (unless skipping bad images).
        """
        settings = self.epoch_settings(epoch)
        resolution = settings.resolution_px or self.config.resolution_px
        if settings.dropout is not None:
            for module in self.model.modules():
                if isinstance(module, nn.Dropout):
                    module.p = settings.dropout
        order = torch.randperm(len(self.train_set), generator=self.generator)[: self.n_train]
        loader = self._loader(
            self.train_set, resolution, train=True, order=order, seed=self.seed * 1_000_003 + epoch,
            batch_size=self.config.batch_size,
        )  # fmt: skip
        self.model.train()
        warmup = getattr(self, "_bn_warmup", None)  # bias-corrected BN statistics, where the core trainer has them
        if warmup is not None:
            warmup.begin()
        total, count = torch.zeros((), device=self.device), 0
        for step, batch in enumerate(loader):
            self.bad_images.check(batch.bad)
            if len(batch.labels) == 0:
                continue
            if self.seen_sizes is not None:
                self.seen_sizes.append(tuple(batch.images.shape[-2:]))
            x, y = self._batch(batch.images, batch.labels, slice(None), settings.batch_transform)
            if warmup is not None:
                warmup.step()
            loss = self._step(x, y, settings.mixup_alpha)
            if loss_check_due(self.device, step, self.steps_per_epoch):
                if not math.isfinite(loss.item()):
                    raise TrainError(f"loss became {loss.item()} at epoch {epoch} step {step}")
            total += loss.detach() * len(y)
            count += len(y)
        if warmup is not None:
            warmup.end()
        return float(total) / max(count, 1)

    def data_config(self, resolution_px: int | None = None) -> Any:
        """The core trainer's data config with how these validation images were prepared: the shorter side resized
        to ``floor(R / crop_pct)``, then a centre crop (timm's ``crop_mode="center"``, ``crop_pct`` 0.875)."""
        from nasgen.data import CROP_PCT

        return super().data_config(resolution_px).model_copy(update={"crop_mode": "center", "crop_pct": CROP_PCT})

    @torch.no_grad()
    def evaluate(self, resolution_px: int | None = None) -> tuple[float, float]:
        """Top-1 and mean cross-entropy on the fixed validation subset (resize + centre crop), in eval mode.

        Files skipped as bad are left out of the denominator.
        """
        model = self.ema.module if self.ema is not None else self.model
        model.eval()
        loader = self._loader(
            self.val_set, resolution_px or self.config.resolution_px, train=False, order=self.val_index, seed=0,
            batch_size=self.config.eval_batch_size,
        )  # fmt: skip
        correct, loss_sum, n = 0, 0.0, 0
        for batch in loader:
            self.bad_images.check(batch.bad)
            if len(batch.labels) == 0:
                continue
            x, y = self._batch(batch.images, batch.labels, slice(None), None)
            with self._autocast():
                logits = model(x).float()
            loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
            n += len(y)
        if n == 0:
            raise TrainError(f"{self.val_set.name}: no validation image could be read")
        return correct / n, loss_sum / n

    @torch.no_grad()
    def recalibrate_bn(self, resolution_px: int, epoch: int = 0) -> None:
        """Re-estimate BatchNorm statistics (cumulative average) over ``config.bn_recalibration_images`` training
        images resized and centre-cropped as at evaluation; only BatchNorm layers in train mode."""
        model = self.ema.module if self.ema is not None else self.model
        bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        saved = [m.momentum for m in bns]
        for m in bns:
            m.reset_running_stats()
            m.momentum = None
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch + 7_919)
        order = torch.randperm(len(self.train_set), generator=generator)[: self.config.bn_recalibration_images]
        loader = self._loader(
            self.train_set, resolution_px, train=False, order=order, seed=0, batch_size=self.config.batch_size
        )
        model.eval()
        for m in bns:
            m.train()
        for batch in loader:
            self.bad_images.check(batch.bad)
            if len(batch.labels):
                x, _ = self._batch(batch.images, batch.labels, slice(None), None)
                with self._autocast():
                    model(x)
        for m, momentum in zip(bns, saved):
            m.momentum = momentum
