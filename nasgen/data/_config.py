"""The data config of a set of weights: how images must be prepared for them (no torch).

Modelled on timm's ``pretrained_cfg`` / ``resolve_data_config`` (``mean``, ``std``, ``input_size``,
``interpolation``, ``crop_pct``, ``crop_mode``): without it a user feeds 0–1 or 0–255 images to a network
trained on normalized ones, and its accuracy drops to chance (issue 19: 79.2 % → 29.4 % / 14.4 %).
One typed object, written by training (``nasgen train``, ``nasgen search --save-weights``) into the
safetensors metadata as JSON, and read back by the exporter into ``manifest.json`` and ``model.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nasgen.errors import DataError

__all__ = ["DATA_CONFIG_KEY", "DataConfig", "read_safetensors_metadata"]

#: Key of the JSON data config in the safetensors metadata (``__metadata__``).
DATA_CONFIG_KEY = "data_config"


class DataConfig(BaseModel):
    """How the images a model was trained and validated on were prepared.

    nasgen's trainer resizes each whole uint8 image to ``input_size`` (bilinear with antialiasing, aspect
    ratio not kept, no crop: ``crop_mode="squash"``, ``crop_pct=1.0``), rounds back to uint8, then
    computes ``(x / 255 − mean) / std`` per channel.

    Attributes:
        mean: Per-channel mean on the 0–1 scale (length = channels).
        std: Per-channel standard deviation on the 0–1 scale.
        input_size: ``(C, H, W)`` the weights were trained and validated at (px). For a search trial this
            is the proxy's resolution, which can differ from the architecture's ``resolution_px``.
        interpolation: Resize filter (``"bilinear"``; torch ``F.interpolate`` mode).
        antialias: Whether the resize low-pass filters when shrinking (torch ``antialias=True``).
        crop_pct: Share of the resized image kept by a centre crop (timm's ``crop_pct``); 1.0 = no crop.
        crop_mode: ``"squash"`` (resize the whole image to ``H×W``) or ``"center"`` (resize the shorter
            side to ``H / crop_pct``, then centre-crop ``H×W``), as timm.
        num_classes: Number of output classes.
        classes: Class names in label order (``None`` when the data had none).
        dataset: Where the training data came from (``"embedded"``, a path …), for provenance.

    Raises:
        pydantic.ValidationError: Lengths disagree with the channels, a non-positive std, or a class list
            whose length is not ``num_classes`` (use :meth:`from_json` for a :class:`DataError`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mean: tuple[float, ...]
    std: tuple[float, ...]
    input_size: tuple[int, int, int]
    interpolation: Literal["bilinear", "bicubic", "nearest"] = "bilinear"
    antialias: bool = True
    crop_pct: float = Field(1.0, gt=0.0, le=1.0)
    crop_mode: Literal["squash", "center"] = "squash"
    num_classes: int = Field(ge=1)
    classes: tuple[str, ...] | None = None
    dataset: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DataConfig:
        channels = self.input_size[0]
        if channels < 1 or min(self.input_size[1:]) < 1:
            raise ValueError(f"input_size must be positive (C, H, W), got {self.input_size}")
        if len(self.mean) != channels or len(self.std) != channels:
            raise ValueError(
                f"mean and std need one value per channel ({channels}), got {len(self.mean)} and {len(self.std)}"
            )
        if min(self.std) <= 0:
            raise ValueError(f"std must be positive, got {self.std}")
        if self.classes is not None and len(self.classes) != self.num_classes:
            raise ValueError(f"{len(self.classes)} class names for num_classes={self.num_classes}")
        return self

    @property
    def in_channels(self) -> int:
        """Input channels ``C``."""
        return self.input_size[0]

    @property
    def resolution_px(self) -> int:
        """Input height ``H`` (px); nasgen trains on squares."""
        return self.input_size[1]

    def to_json(self) -> str:
        """Compact JSON (what goes into the safetensors metadata)."""
        return self.model_dump_json()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (what goes into ``manifest.json``)."""
        return self.model_dump(mode="json")

    def metadata(self) -> dict[str, str]:
        """safetensors metadata entries: ``data_config`` (JSON) and the older ``input_mean`` / ``input_std``."""
        return {
            DATA_CONFIG_KEY: self.to_json(),
            "input_mean": json.dumps(list(self.mean)),
            "input_std": json.dumps(list(self.std)),
        }

    @classmethod
    def from_json(cls, text: str, *, where: str = "data config") -> DataConfig:
        """Parse :meth:`to_json` output.

        Raises:
            DataError: Not JSON, or not a valid data config (names ``where`` and the field).
        """
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "data_config"
            raise DataError(f"{where}: {field}: {first['msg']}") from None

    @classmethod
    def from_metadata(
        cls, metadata: Mapping[str, str], *, input_size: tuple[int, int, int] | None = None,
        num_classes: int | None = None, where: str = "weights metadata",
    ) -> DataConfig | None:  # fmt: skip
        """The data config in safetensors ``metadata``, or ``None`` when it has none.

        Weights written before the data config existed carry only ``input_mean`` / ``input_std``; with
        ``input_size`` and ``num_classes`` (from the architecture) they give a config without class names.

        Raises:
            DataError: The entry is present but malformed.
        """
        if DATA_CONFIG_KEY in metadata:
            return cls.from_json(metadata[DATA_CONFIG_KEY], where=where)
        if "input_mean" in metadata and "input_std" in metadata and input_size and num_classes:
            try:
                mean, std = json.loads(metadata["input_mean"]), json.loads(metadata["input_std"])
                return cls(mean=tuple(mean), std=tuple(std), input_size=input_size, num_classes=num_classes)
            except (ValueError, TypeError, ValidationError) as exc:
                raise DataError(f"{where}: bad input_mean / input_std ({exc})") from None
        return None


def read_safetensors_metadata(path: str | Path) -> dict[str, str]:
    """The ``__metadata__`` of a ``.safetensors`` file, read from its JSON header only (no torch).

    The format is an 8-byte little-endian header length, then that many bytes of JSON.

    Raises:
        DataError: The file is missing or its header is not a safetensors header.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            length = int.from_bytes(handle.read(8), "little")
            if not 0 < length <= 100_000_000:
                raise ValueError(f"header length {length}")
            header = json.loads(handle.read(length))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the safetensors header ({exc})") from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return {str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {}
