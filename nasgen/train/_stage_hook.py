"""The trainer hook of a progressive-learning schedule: ``epoch → EpochSettings`` (EfficientNetV2 §4).

Split from :mod:`nasgen.train.progressive` so that the schedule stays pure Python; torch and torchvision
are imported when the hook is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nasgen.train._records import EpochSettings

if TYPE_CHECKING:
    from nasgen.train._schedule import ProgressiveSchedule, StageSettings

__all__ = ["RANDAUG_GROUP_SIZE", "progressive_settings"]

#: RandAugment draws its operations once per call; a call per group of this many images keeps the
#: augmentation varied within a batch at ~0.1 ms per image on CPU (one call per image costs ~1 ms).
RANDAUG_GROUP_SIZE = 8


class _GroupedRandAugment:
    """torchvision ``RandAugment`` applied to a uint8 batch ``(N, C, H, W)`` in groups of ``group_size``."""

    def __init__(self, settings: StageSettings, group_size: int = RANDAUG_GROUP_SIZE) -> None:
        from torchvision.transforms import v2

        self.group_size = group_size
        self.augment = v2.RandAugment(
            num_ops=settings.randaug_num_ops,
            magnitude=settings.randaug_magnitude_bin,
            num_magnitude_bins=settings.randaug_bins,
        )

    def __call__(self, batch: Any) -> Any:
        import torch

        return torch.cat([self.augment(group) for group in batch.split(self.group_size)])


def progressive_settings(schedule: ProgressiveSchedule, total_epochs: int) -> Callable[[int], Any]:
    """The trainer hook of a schedule: ``epoch → EpochSettings`` (image size, dropout, RandAugment, mixup α).

    RandAugment (torchvision, uint8, operations drawn per group of :data:`RANDAUG_GROUP_SIZE` images)
    runs on the batch already resized to the stage size; mixup is the trainer's (λ ~ Beta(α, α) between the
    batch and a permutation of it, as ``torchvision.transforms.v2.MixUp``, but drawn from the trainer's seeded
    generator so a resumed run repeats it exactly). Settings are built once per stage.

    Args:
        schedule: The schedule.
        total_epochs: Epochs of the run.

    Returns:
        A callable for ``Trainer(epoch_settings=...)`` / ``train_model(epoch_settings=...)``.

    Raises:
        TrainError: Fewer epochs than stages.
    """
    schedule.stages(total_epochs)  # raises now, before training starts, when there are too few epochs
    built: dict[int, Any] = {}

    def settings_for(epoch: int) -> Any:
        stage = schedule.for_epoch(epoch, total_epochs)
        if stage.stage not in built:
            transform = _GroupedRandAugment(stage) if stage.randaug_num_ops > 0 else None
            built[stage.stage] = EpochSettings(
                resolution_px=stage.image_size_px,
                dropout=stage.dropout,
                mixup_alpha=stage.mixup_alpha,
                batch_transform=transform,
            )
        return built[stage.stage]

    return settings_for
