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

This module loads schedules (YAML files, preset names) and is the public face of the three that build them:
the schedule model and Algorithm 1 (``_schedule.py``), nasgen's rules and the presets (``_schedule_rules.py``)
and the trainer hook (``_stage_hook.py``). Pure Python (pydantic); :func:`progressive_settings` imports torch
and torchvision when called.

Example:
    >>> from nasgen.train.progressive import ProgressiveSchedule
    >>> schedule = ProgressiveSchedule.efficientnetv2_s()
    >>> [s.image_size_px for s in schedule.stages(total_epochs=8)]
    [128, 185, 243, 300]
    >>> schedule.for_epoch(3, total_epochs=8).randaug_magnitude_bin
    8
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nasgen.errors import SpecError
from nasgen.spec import total_stride  # re-exported: the schedule's smallest size
from nasgen.train._schedule import _IN_DOCUMENT, ProgressiveSchedule, StageSettings
from nasgen.train._schedule_rules import LEARNING_FLOOR_PX, REGULARIZATION_FULL_EPOCHS, default_num_stages
from nasgen.train._stage_hook import RANDAUG_GROUP_SIZE, progressive_settings  # torch when the hook is built

__all__ = [
    "LEARNING_FLOOR_PX",
    "PRESETS",
    "RANDAUG_GROUP_SIZE",
    "REGULARIZATION_FULL_EPOCHS",
    "ProgressiveSchedule",
    "StageSettings",
    "default_num_stages",
    "load_schedule",
    "loads_schedule",
    "progressive_settings",
    "schedule_from_dict",
    "total_stride",
]

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
