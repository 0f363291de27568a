"""How nasgen picks a progressive-learning schedule where EfficientNetV2 (§4) leaves it open: the rounding
(halves up), the number of stages and the first size ``--progressive`` uses, the regularization scaled with a
run's length, and the presets built by those rules (:class:`SchedulePresets`, the constructors of
:class:`~nasgen.train.progressive.ProgressiveSchedule`).

Pure Python; the measurements behind each rule are cited where it is set.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from nasgen.errors import TrainError
from nasgen.spec import total_stride

if TYPE_CHECKING:
    from nasgen.train._schedule import ProgressiveSchedule

__all__ = ["LEARNING_FLOOR_PX", "REGULARIZATION_FULL_EPOCHS", "SchedulePresets", "default_num_stages",
           "round_half_up"]


def round_half_up(value: Fraction | float) -> int:
    """The nearest integer, halves rounding up (the schedule's sizes and RandAugment bins; ``round`` rounds
    halves to even)."""
    return math.floor(value + Fraction(1, 2)) if isinstance(value, Fraction) else math.floor(value + 0.5)


def default_num_stages(epochs: int) -> int:
    """The number of stages ``M`` ``--progressive`` uses for a run of ``epochs`` epochs: ``epochs // 2`` within
    2–4 (two epochs or more per stage where the run allows; the paper's 4 from 8 epochs on), and ``epochs`` itself
    below 2 epochs. See :meth:`ProgressiveSchedule.for_run` for the measurements behind it."""
    return min(epochs, 4, max(2, epochs // 2))


#: The smallest first-stage size (px) ``--progressive`` picks, unless the data itself is smaller: on
#: Fashion-MNIST a network trained at 8 px lost 3.2 points against its native 28 px while 12-20 px kept its
#: accuracy within one seed's spread (docs/proxy.md, "The proxy's resolution floor"); 16 keeps a margin.
LEARNING_FLOOR_PX = 16

#: Epoch budget from which ``--progressive`` uses V2-S's full regularization (RandAugment 5 → 15, dropout
#: 0.1 → 0.3); shorter runs scale both by ``epochs / REGULARIZATION_FULL_EPOCHS``. V2-S's values were tuned for
#: 350 ImageNet epochs; a short run underfits and every regularizer measured on one cost accuracy (docs/proxy.md:
#: label smoothing 0.1 −2.4 points in 3 epochs; docs/progressive.md: RandAugment 15 + dropout 0.3 in the last of
#: 2 epochs −7.5 points).
REGULARIZATION_FULL_EPOCHS = 100

#: Below this end magnitude (torchvision bins) ``--progressive`` leaves RandAugment off: its magnitude-free
#: operations (equalize, autocontrast) act at full strength whatever the bin, which on grey 28-px images is a
#: large change for a run too short to need any augmentation.
_RANDAUG_MIN_END_MAGNITUDE = 1.5


class SchedulePresets:
    """The constructors of :class:`~nasgen.train.progressive.ProgressiveSchedule`: the paper's V2-S, V2-S
    rescaled to an architecture, and the schedule ``--progressive`` picks for a run."""

    @classmethod
    def efficientnetv2_s(cls) -> ProgressiveSchedule:
        """The paper's V2-S settings (Table 6): 4 stages, size 128 → 300, RandAugment 5 → 15, mixup 0 → 0,
        dropout 0.1 → 0.3."""
        return cls(
            num_stages=4,
            size_start_px=128,
            size_end_px=300,
            dropout=(0.1, 0.3),
            randaug_magnitude=(5.0, 15.0),
            mixup_alpha=(0.0, 0.0),
        )

    @classmethod
    def for_spec(cls, spec: Any, *, num_stages: int = 4) -> ProgressiveSchedule:
        """V2-S's schedule rescaled to an architecture's resolution (what ``--progressive`` uses).

        ``S_e`` is ``spec.resolution_px``; ``S_0`` keeps V2-S's ratio 128/300 of it, but never goes below
        the network's total stride; regularization is V2-S's.

        Args:
            spec: An :class:`~nasgen.spec.ArchSpec`.
            num_stages: ``M``.

        Raises:
            SpecError: ``num_stages`` < 2.
        """
        size_end = spec.resolution_px
        size_start = max(total_stride(spec), round_half_up(Fraction(size_end * 128, 300)))
        return cls(
            num_stages=num_stages,
            size_start_px=min(size_start, size_end),
            size_end_px=size_end,
            dropout=(0.1, 0.3),
            randaug_magnitude=(5.0, 15.0),
            mixup_alpha=(0.0, 0.0),
        )

    @classmethod
    def for_run(
        cls, spec: Any, *, epochs: int, data_px: int | None = None, num_stages: int | None = None
    ) -> ProgressiveSchedule:
        """The schedule ``--progressive`` picks for a run: from the resolution, the data's size and the epochs.

        EfficientNetV2 (Tan & Le, 2021, §4, Table 6) starts V2-S at 128/300 of its final size and raises
        RandAugment 5 → 15 and dropout 0.1 → 0.3 over 350 epochs; §4 also scales the regularization with the
        model (V2-S, -M, -L use different end values). nasgen's rule keeps the paper's size ratio and scales
        the regularization with the run's length:

        * ``S_e`` = ``spec.resolution_px``;
        * ``S_0`` = ``round(S_e · 128/300)``, raised to the network's total stride and to
          ``min(LEARNING_FLOOR_PX, data_px)`` (never a size at which the network cannot learn), at most ``S_e``;
        * ``M`` = ``epochs // 2`` stages, at least 2 and at most 4 (the paper's 4): a stage gets two epochs or
          more where the run allows (``num_stages`` overrides). Measured (``benchmarks/progressive.py``, 4 epochs
          at 64 px on Fashion-MNIST): one-epoch stages (M = 4) lost 3.3 points (B0) and 1.4 points
          (``bench-tiny``) against two-epoch stages (M = 2) at about the same time; each size change moves the
          objects' scale under the filters, and a one-epoch final stage at a low learning rate cannot adapt;
        * with ``s = min(1, epochs / REGULARIZATION_FULL_EPOCHS)``: dropout ``(0.1·s, 0.3·s)``, RandAugment
          magnitude ``(5·s, 15·s)``, and RandAugment off when ``15·s`` < 1.5 (fewer than 10 epochs); mixup off.

        Args:
            spec: An :class:`~nasgen.spec.ArchSpec` at the final resolution.
            epochs: The run's epochs (at least 2).
            data_px: The data's own image size (its height), when known.
            num_stages: ``M``; ``None`` = ``min(4, max(2, epochs // 2))``.

        Raises:
            TrainError: ``epochs`` < 2.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 2:
            raise TrainError(f"progressive learning needs at least 2 epochs (2-4 stages), got epochs={epochs!r}")
        size_end = spec.resolution_px
        floor = LEARNING_FLOOR_PX if data_px is None else min(LEARNING_FLOOR_PX, data_px)
        size_start = max(total_stride(spec), floor, round_half_up(Fraction(size_end * 128, 300)))
        strength = min(Fraction(1), Fraction(epochs, REGULARIZATION_FULL_EPOCHS))
        magnitude = (float(5 * strength), float(15 * strength))
        return cls(
            num_stages=num_stages if num_stages is not None else default_num_stages(epochs),
            size_start_px=min(size_start, size_end),
            size_end_px=size_end,
            dropout=(float(Fraction(1, 10) * strength), float(Fraction(3, 10) * strength)),
            randaug_magnitude=magnitude,
            randaug_num_ops=2 if magnitude[1] >= _RANDAUG_MIN_END_MAGNITUDE else 0,
            mixup_alpha=(0.0, 0.0),
        )
