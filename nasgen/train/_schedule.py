"""The progressive-learning schedule (EfficientNetV2, Tan & Le 2021, §4, Algorithm 1): its validated fields and
the settings of each stage and epoch. The module docstring of :mod:`nasgen.train.progressive` states the rules;
the presets and the choice for a run are :mod:`nasgen.train._schedule_rules`'s.

Pure Python (pydantic).
"""

from __future__ import annotations

import math
from contextvars import ContextVar
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from nasgen.errors import TrainError
from nasgen.spec import total_stride
from nasgen.train._schedule_rules import SchedulePresets, round_half_up

__all__ = ["ProgressiveSchedule", "StageSettings"]

_PAIR_FIELDS = ("dropout", "randaug_magnitude", "mixup_alpha")

# Set while a YAML document is validated: the constructor then leaves pydantic's error to
# ``validate_document``, which knows the file and the line of each field.
_IN_DOCUMENT: ContextVar[bool] = ContextVar("_IN_DOCUMENT", default=False)


@dataclass(frozen=True)
class StageSettings:
    """The settings of one progressive-learning stage (EfficientNetV2 Algorithm 1, one iteration).

    Attributes:
        stage: 0-based stage index ``i``.
        num_stages: ``M``.
        image_size_px: Training image size ``S_i`` in px (square), rounded by the schedule's rule.
        dropout: Dropout rate before the classifier, or ``None`` when the schedule does not apply
            dropout (the model keeps its spec's rate).
        randaug_magnitude: The exact interpolated RandAugment magnitude ``R_i`` (torchvision bins).
        randaug_num_ops: RandAugment operations per image (``N``); 0 disables RandAugment.
        randaug_bins: torchvision's ``num_magnitude_bins``.
        mixup_alpha: Mixup α; 0 disables mixup.
        first_epoch: First 0-based epoch of the stage (inclusive).
        end_epoch: End epoch of the stage (exclusive).
    """

    stage: int
    num_stages: int
    image_size_px: int
    dropout: float | None
    randaug_magnitude: float
    randaug_num_ops: int
    randaug_bins: int
    mixup_alpha: float
    first_epoch: int
    end_epoch: int

    @property
    def epochs(self) -> range:
        """The 0-based epochs of this stage."""
        return range(self.first_epoch, self.end_epoch)

    @property
    def randaug_magnitude_bin(self) -> int:
        """The magnitude given to torchvision's ``RandAugment``: ``R_i`` rounded, halves up."""
        return round_half_up(self.randaug_magnitude)



class ProgressiveSchedule(SchedulePresets, BaseModel):
    """An EfficientNetV2 progressive-learning schedule (§4, Algorithm 1).

    Each regularization is a pair ``(R_0, R_e)``: the value of the first and of the last stage.
    Constructing a schedule with an invalid field raises :class:`~nasgen.errors.SpecError`.

    Attributes:
        num_stages: ``M`` ≥ 2.
        size_start_px: ``S_0``, image size of the first stage in px.
        size_end_px: ``S_e`` ≥ ``S_0``, image size of the last stage in px.
        size_multiple: Stage sizes are rounded to the nearest multiple of this (halves up).
        dropout: ``(R_0, R_e)`` dropout rates before the classifier, each in [0, 1).
        apply_dropout: Apply the dropout schedule to the model (the paper) or keep the spec's
            dropout (the released TensorFlow code).
        randaug_bins: torchvision ``num_magnitude_bins`` (31: magnitudes 0..30).
        randaug_magnitude: ``(R_0, R_e)`` RandAugment magnitudes in torchvision bins, 0..``randaug_bins``-1.
        randaug_num_ops: Operations per image (RandAugment's ``N``); 0 disables RandAugment.
        mixup_alpha: ``(R_0, R_e)`` mixup α ≥ 0; 0 disables mixup in that stage.

    Raises:
        SpecError: A field is invalid; the message names the field and echoes the value.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    num_stages: int = Field(description="number of stages M (at least 2)")
    size_start_px: int = Field(description="image size of the first stage in px (S_0)")
    size_end_px: int = Field(description="image size of the last stage in px (S_e >= S_0)")
    size_multiple: int = Field(1, description="stage sizes round to the nearest multiple of this")
    dropout: tuple[float, float] = Field((0.1, 0.3), description="dropout rate of the first and last stage")
    apply_dropout: bool = Field(True, description="apply the dropout schedule (false: keep the spec's dropout)")
    randaug_bins: int = Field(31, description="torchvision RandAugment num_magnitude_bins")
    randaug_magnitude: tuple[float, float] = Field((5.0, 15.0), description="RandAugment magnitude, first/last")
    randaug_num_ops: int = Field(2, description="RandAugment operations per image (0 disables it)")
    mixup_alpha: tuple[float, float] = Field((0.0, 0.0), description="mixup alpha of the first and last stage")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            if _IN_DOCUMENT.get():
                raise  # validate_document converts it, with the file and line
            from nasgen.spec import spec_error_from_validation

            raise spec_error_from_validation(exc, data) from None

    @field_validator(*_PAIR_FIELDS, mode="before")
    @classmethod
    def _pair(cls, value: Any) -> Any:
        # YAML gives lists; a pair must have exactly two numbers.
        if isinstance(value, list):
            value = tuple(value)
        if isinstance(value, tuple) and len(value) != 2:
            raise ValueError(f"must be a pair [first, last], got {list(value)!r}")
        return value

    @field_validator("num_stages")
    @classmethod
    def _stages(cls, value: int) -> int:
        if value < 2:
            raise ValueError(f"must be at least 2 (train without a schedule for one stage), got {value!r}")
        return value

    @field_validator("size_start_px", "size_end_px", "size_multiple", "randaug_bins")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError(f"must be a positive integer, got {value!r}")
        return value

    @field_validator("randaug_num_ops")
    @classmethod
    def _num_ops(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"must be a non-negative integer, got {value!r}")
        return value

    @field_validator("dropout")
    @classmethod
    def _dropout(cls, value: tuple[float, float]) -> tuple[float, float]:
        for rate in value:
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"each rate must be in [0, 1), got {list(value)!r}")
        return value

    @field_validator("mixup_alpha")
    @classmethod
    def _mixup(cls, value: tuple[float, float]) -> tuple[float, float]:
        for alpha in value:
            if not (alpha >= 0.0 and math.isfinite(alpha)):
                raise ValueError(f"each alpha must be a finite number >= 0, got {list(value)!r}")
        return value

    @field_validator("size_end_px")
    @classmethod
    def _grows(cls, value: int, info: ValidationInfo) -> int:
        start = info.data.get("size_start_px")
        if start is not None and start > value:
            raise ValueError(
                f"must be at least size_start_px {start} (progressive learning grows the image size), got {value!r}"
            )
        return value

    @field_validator("size_multiple")
    @classmethod
    def _multiple(cls, value: int, info: ValidationInfo) -> int:
        for name in ("size_start_px", "size_end_px"):
            size = info.data.get(name)
            if size is not None and value > 0 and size % value:
                raise ValueError(f"{name} {size} is not a multiple of size_multiple, got {value!r}")
        return value

    @field_validator("randaug_magnitude")
    @classmethod
    def _magnitude(cls, value: tuple[float, float], info: ValidationInfo) -> tuple[float, float]:
        bins = info.data.get("randaug_bins")
        if bins is not None:
            for magnitude in value:
                if not 0.0 <= magnitude <= bins - 1:
                    raise ValueError(
                        f"each magnitude must be in 0..{bins - 1} (torchvision RandAugment with "
                        f"num_magnitude_bins={bins}), got {list(value)!r}"
                    )
        return value

    # -- Algorithm 1 -----------------------------------------------------------------------------
    def _check_epochs(self, total_epochs: int) -> None:
        if isinstance(total_epochs, bool) or not isinstance(total_epochs, int) or total_epochs < 1:
            raise TrainError(f"epochs must be a positive integer, got {total_epochs!r}")
        if self.num_stages > total_epochs:
            raise TrainError(
                f"the progressive schedule has {self.num_stages} stages but training has only "
                f"{total_epochs} epoch(s); use at least as many epochs as stages"
            )

    def _interpolate(self, pair: tuple[float, float], stage: int) -> float:
        first, last = pair
        if stage == 0:
            return float(first)
        if stage == self.num_stages - 1:
            return float(last)
        return first + (last - first) * stage / (self.num_stages - 1)

    def image_size_px(self, stage: int) -> int:
        """``S_i`` rounded to the nearest multiple of ``size_multiple`` (halves up), in px."""
        exact = self.size_start_px + Fraction((self.size_end_px - self.size_start_px) * stage, self.num_stages - 1)
        return self.size_multiple * round_half_up(exact / self.size_multiple)

    def stage_settings(self, stage: int, total_epochs: int) -> StageSettings:
        """The settings of stage ``stage`` (0-based) of a run of ``total_epochs`` epochs.

        Raises:
            TrainError: ``stage`` is outside ``0..M-1``, or there are fewer epochs than stages.
        """
        self._check_epochs(total_epochs)
        if isinstance(stage, bool) or not isinstance(stage, int) or not 0 <= stage < self.num_stages:
            raise TrainError(f"stage must be an integer in 0..{self.num_stages - 1}, got {stage!r}")
        dropout = self._interpolate(self.dropout, stage)
        return StageSettings(
            stage=stage,
            num_stages=self.num_stages,
            image_size_px=self.image_size_px(stage),
            dropout=dropout if self.apply_dropout else None,
            randaug_magnitude=self._interpolate(self.randaug_magnitude, stage),
            randaug_num_ops=self.randaug_num_ops,
            randaug_bins=self.randaug_bins,
            mixup_alpha=self._interpolate(self.mixup_alpha, stage),
            first_epoch=stage * total_epochs // self.num_stages,
            end_epoch=(stage + 1) * total_epochs // self.num_stages,
        )

    def stages(self, total_epochs: int) -> tuple[StageSettings, ...]:
        """All ``M`` stages of a run of ``total_epochs`` epochs, in order.

        Raises:
            TrainError: Fewer epochs than stages.
        """
        return tuple(self.stage_settings(i, total_epochs) for i in range(self.num_stages))

    def for_epoch(self, epoch: int, total_epochs: int) -> StageSettings:
        """The settings that apply during 0-based ``epoch`` of a run of ``total_epochs`` epochs.

        Raises:
            TrainError: ``epoch`` is outside ``0..total_epochs-1``, or fewer epochs than stages.
        """
        self._check_epochs(total_epochs)
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch < total_epochs:
            raise TrainError(f"epoch must be an integer in 0..{total_epochs - 1}, got {epoch!r}")
        # Stage i starts at ⌊i·E/M⌋, so the stage of an epoch is the largest i with ⌊i·E/M⌋ <= epoch.
        stage = ((epoch + 1) * self.num_stages - 1) // total_epochs
        return self.stage_settings(stage, total_epochs)

    def check_architecture(self, spec: Any) -> None:
        """Check that every stage size is one the architecture can take.

        Raises:
            TrainError: ``size_start_px`` is below the network's total stride (the last stages would
                run on 1×1 maps).
        """
        stride = total_stride(spec)
        if self.size_start_px < stride:
            raise TrainError(
                f"schedule size_start_px {self.size_start_px} is below the total stride {stride} of "
                f"architecture {spec.name or spec.short_hash()!r}; start at {stride} px or more"
            )
