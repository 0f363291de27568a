"""``nasgen import timm:NAME``: a timm EfficientNet as a nasgen training directory (``arch.yaml`` +
``weights.safetensors`` with timm's data config), which ``nasgen export``, ``nasgen train --init`` and
:func:`nasgen.load` read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nasgen.data import DataConfig
from nasgen.errors import SpecError
from nasgen.nn import naming_of, read_state_dict
from nasgen.spec import ArchSpec, save_spec
from nasgen.timm._import import create_timm_model, from_timm, timm_data_config

__all__ = ["ARCH_FILE", "WEIGHTS_FILE", "ImportResult", "import_timm", "parse_source"]

ARCH_FILE, WEIGHTS_FILE = "arch.yaml", "weights.safetensors"


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_timm` wrote.

    Attributes:
        out: The directory.
        spec: The architecture (``arch.yaml``).
        weights_path: ``weights.safetensors`` (nasgen's names; metadata ``arch_hash``, ``source``, ``weights``,
            ``data_config``).
        data_config: timm's ``pretrained_cfg`` as a :class:`~nasgen.data.DataConfig` (``None`` without one).
        weights: Where the weights came from: the ``--weights`` file, or timm's random initialization.
    """

    out: Path
    spec: ArchSpec
    weights_path: Path
    data_config: DataConfig | None
    weights: str


def parse_source(source: str) -> str:
    """The timm model name of an import source ``timm:NAME``.

    Raises:
        SpecError: Another scheme, or no name.
    """
    scheme, sep, name = source.partition(":")
    if not sep or scheme != "timm" or not name.strip():
        raise SpecError(f"expected timm:<model name> (e.g. timm:tf_efficientnetv2_s), got {source!r}", value=source)
    return name.strip()


def _load_into(model, path: Path, name: str) -> None:
    state = read_state_dict(path)
    naming = naming_of(state)
    if naming not in (None, "timm"):
        raise SpecError(f"{path}: the tensors have {naming}'s names, not timm's; `nasgen import` reads a checkpoint "
                        f"of timm's {name} (nasgen weights need no import: give them to `nasgen train --init`)")
    ours = model.state_dict()
    missing = [key for key in ours if key not in state]
    unexpected = [key for key in state if key not in ours]
    wrong = [f"{key} {tuple(state[key].shape)} vs {tuple(ours[key].shape)}"
             for key in ours if key in state and state[key].shape != ours[key].shape]  # fmt: skip
    if missing or unexpected or wrong:
        parts = [f"{label}: {', '.join(keys[:3])}{' …' if len(keys) > 3 else ''} ({len(keys)})"
                 for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape", wrong)) if keys]
        raise SpecError(f"{path}: does not match timm's {name} ({'; '.join(parts)})")
    model.load_state_dict(state, strict=True)


def import_timm(source: str, out: str | Path, *, weights: str | Path | None = None, force: bool = False,
                check: bool = True) -> ImportResult:  # fmt: skip
    """Write a timm EfficientNet as ``OUT/arch.yaml`` and ``OUT/weights.safetensors``.

    Args:
        source: ``timm:NAME`` (a model of ``timm.models.efficientnet``, see :func:`nasgen.timm.from_timm`).
        out: Output directory; created, and must not hold an earlier import unless ``force``.
        weights: A checkpoint of that timm model (safetensors, or a torch state dict loaded with
            ``weights_only=True``; timm's names). ``None``: timm's random initialization (nothing is downloaded).
        force: Replace ``arch.yaml`` / ``weights.safetensors`` already in ``out``.
        check: See :func:`nasgen.timm.from_timm`.

    Raises:
        SpecError: A bad source, a model nasgen cannot express, a weights file that is unreadable, truncated, a
            pickle named ``.safetensors``, or not this model's; an earlier import in ``out`` without ``force``.
    """
    from safetensors.torch import save_file

    name = parse_source(source)
    out = Path(out)
    if not force and any((out / file).exists() for file in (ARCH_FILE, WEIGHTS_FILE)):
        raise SpecError(f"{out} already holds an import (pass --force to replace it)")
    model = create_timm_model(name)
    if weights is not None:
        _load_into(model, Path(weights), name)
    spec, state = from_timm(model, check=check)
    data_config = timm_data_config(model)
    out.mkdir(parents=True, exist_ok=True)
    origin = str(weights) if weights is not None else "timm's random initialization (no --weights)"
    metadata = {"format": "pt", "arch_hash": spec.content_hash(), "source": source, "weights": origin,
                **(data_config.metadata() if data_config is not None else {})}  # fmt: skip
    save_file({key: value.detach().contiguous() for key, value in state.items()}, str(out / WEIGHTS_FILE),
              metadata=metadata)  # fmt: skip
    save_spec(spec, out / ARCH_FILE)
    return ImportResult(out, spec, out / WEIGHTS_FILE, data_config, origin)
