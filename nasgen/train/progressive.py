"""Progressive learning schedules (EfficientNetV2, Tan & Le 2021, §4, Algorithm 1).

Training is split into ``M`` stages. Stage ``i`` (0-based) trains at image size
``S_i = S_0 + (S_e - S_0) · i / (M - 1)`` with regularization ``R_i = R_0 + (R_e - R_0) · i / (M - 1)``
for the dropout rate, the RandAugment magnitude and the mixup α. Small images with weak
regularization first, large images with strong regularization last.

Rules nasgen states (the paper leaves them open):

* **Epochs.** ``E`` epochs are split into ``M`` nearly equal stages: stage ``i`` covers epochs
  ``[⌊i·E/M⌋, ⌊(i+1)·E/M⌋)``, as in the released TensorFlow code; lengths differ by at most one
  and the longer stages are spread evenly (``E=10, M=4`` → 2, 3, 2, 3 epochs).
* **Image size.** ``S_i`` is rounded to the nearest multiple of ``size_multiple`` (default 1, i.e. the
  nearest integer), halves rounding up; ``S_0`` and ``S_e`` must themselves be multiples, so the first
  and last stages train at exactly the sizes asked for. V2-S: 128, 185.33, 242.67, 300 → 128, 185, 243, 300.
* **RandAugment magnitude.** ``R_i`` is kept exactly (5, 8.33, 11.67, 15 for V2-S) and applied as the
  nearest torchvision magnitude bin, halves rounding up (5, 8, 12, 15).
* **Dropout.** The released code computes a dropout schedule and then discards it (``del dp_list``);
  the paper (Table 6) reports dropout 0.1 → 0.3 for V2-S. nasgen *applies* the schedule by default
  (``apply_dropout: true``); with ``apply_dropout: false`` the model keeps its spec's dropout, as the
  released code does.

This module is pure Python (pydantic); :func:`progressive_settings` imports torch and torchvision when called.

Example:
    >>> from nasgen.train.progressive import ProgressiveSchedule
    >>> schedule = ProgressiveSchedule.efficientnetv2_s()
    >>> [s.image_size_px for s in schedule.stages(total_epochs=8)]
    [128, 185, 243, 300]
    >>> schedule.for_epoch(3, total_epochs=8).randaug_magnitude_bin
    8
"""

from __future__ import annotations

import math
from contextvars import ContextVar
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from nasgen.errors import SpecError, TrainError
from nasgen.spec import total_stride  # re-exported: the schedule's smallest size

__all__ = [
    "LEARNING_FLOOR_PX",
    "PRESETS",
    "REGULARIZATION_FULL_EPOCHS",
    "ProgressiveSchedule",
    "RANDAUG_GROUP_SIZE",
    "StageSettings",
    "load_schedule",
    "default_num_stages",
    "loads_schedule",
    "progressive_settings",
    "schedule_from_dict",
    "total_stride",
]

_PAIR_FIELDS = ("dropout", "randaug_magnitude", "mixup_alpha")

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

# Set while a YAML document is validated: the constructor then leaves pydantic's error to
# ``validate_document``, which knows the file and the line of each field.
_IN_DOCUMENT: ContextVar[bool] = ContextVar("_IN_DOCUMENT", default=False)


def _round_half_up(value: Fraction | float) -> int:
    return math.floor(value + Fraction(1, 2)) if isinstance(value, Fraction) else math.floor(value + 0.5)




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
        return _round_half_up(self.randaug_magnitude)


class ProgressiveSchedule(BaseModel):
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

    # -- presets ---------------------------------------------------------------------------------
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
        size_start = max(total_stride(spec), _round_half_up(Fraction(size_end * 128, 300)))
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
        size_start = max(total_stride(spec), floor, _round_half_up(Fraction(size_end * 128, 300)))
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
        return self.size_multiple * _round_half_up(exact / self.size_multiple)

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


PRESETS = {"efficientnetv2-s": ProgressiveSchedule.efficientnetv2_s}
"""Built-in schedules by name, each a zero-argument factory."""


def schedule_from_dict(data: Any, *, file: str | None = None) -> ProgressiveSchedule:
    """Validate plain data (as from YAML) into a :class:`ProgressiveSchedule`.

    Raises:
        SpecError: A field is invalid, naming the field path and the bad value (and ``file``).
    """
    return _validate(data, file=file, node=None)


def loads_schedule(text: str, *, file: str | None = None) -> ProgressiveSchedule:
    """Parse a YAML schedule document.

    Raises:
        SpecError: YAML syntax error or invalid field, naming file, line and field path.
    """
    from nasgen.spec import yaml_document

    data, node = yaml_document(text, file=file)
    return _validate(data, file=file, node=node)


def _validate(data: Any, *, file: str | None, node: Any) -> ProgressiveSchedule:
    from nasgen.spec import validate_document

    token = _IN_DOCUMENT.set(True)
    try:
        return validate_document(ProgressiveSchedule, data, file=file, node=node)
    finally:
        _IN_DOCUMENT.reset(token)


def load_schedule(source: str | Path | ProgressiveSchedule) -> ProgressiveSchedule:
    """Load a schedule from a preset name (``efficientnetv2-s``), a YAML file, or pass one through.

    Raises:
        SpecError: Unknown name, missing file, YAML syntax error or invalid field.
    """
    if isinstance(source, ProgressiveSchedule):
        return source
    if not isinstance(source, Path) and str(source) in PRESETS:
        return PRESETS[str(source)]()
    from nasgen.spec import read_text

    path = Path(source)
    if not path.exists() and path.suffix not in (".yaml", ".yml"):
        raise SpecError(f"{str(source)!r} is neither a schedule file nor a preset ({', '.join(PRESETS)})")
    return loads_schedule(read_text(path), file=str(path))


# The trainer hook (imports torch and torchvision when called), kept in its own module.
from nasgen.train._stage_hook import RANDAUG_GROUP_SIZE, progressive_settings  # noqa: E402
