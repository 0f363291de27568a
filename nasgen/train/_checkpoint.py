"""The checkpoint of a full training run: atomic writes, and a check that it belongs to the run resumed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from nasgen.errors import TrainError

__all__ = ["CHECKPOINT_FORMAT", "load_checkpoint", "save_checkpoint"]

#: Version of the checkpoint layout (``format`` in the file).
CHECKPOINT_FORMAT = 1


def load_checkpoint(path: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """The checkpoint at ``path`` (``None`` when there is none), checked to belong to the run ``identity``.

    Raises:
        TrainError: Unreadable, of another format, or of a different run: every differing setting is named
            with its old and new value (``config.epochs: 2 -> 4``).
    """
    if not path.exists():
        return None
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user-facing error here
        raise TrainError(f"cannot read checkpoint {str(path)!r}: {exc}") from None
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise TrainError(f"{str(path)!r} is not a nasgen checkpoint of format {CHECKPOINT_FORMAT}")
    changes = [change for key, value in identity.items() for change in _changes(key, checkpoint["run"].get(key), value)]
    if changes:
        shown = "; ".join(changes[:6]) + (f"; … ({len(changes)} in all)" if len(changes) > 6 else "")
        hint = ""
        if any(change.startswith("config.epochs:") for change in changes):
            hint = " (the learning-rate schedule spans the total epochs, so a longer run starts afresh)"
        raise TrainError(
            f"{str(path)!r} belongs to a different run: {shown}{hint}; "
            "run the same command to resume, or choose another --out"
        )
    return checkpoint


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list, tuple)) for v in value):
        items = enumerate(value)
    else:
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in items:
        flat.update(_flatten(item, f"{prefix}.{key}"))
    return flat


def _changes(key: str, old: Any, new: Any) -> list[str]:
    """``"config.epochs: 2 -> 4"`` for every setting of the run identity that differs (field path, old, new)."""
    if old == new:
        return []
    if key == "spec" and isinstance(old, str) and isinstance(new, str):
        import yaml

        old, new = yaml.safe_load(old), yaml.safe_load(new)
    if key == "data" and isinstance(old, list) and isinstance(new, list):
        names = ("train", "train_images", "val", "val_images")
        old, new = dict(zip(names, old)), dict(zip(names, new))
    before, after = _flatten(old, key), _flatten(new, key)
    return [
        f"{name}: {before.get(name, '(not set)')!r} -> {after.get(name, '(not set)')!r}"
        for name in dict.fromkeys([*before, *after])
        if before.get(name, "(not set)") != after.get(name, "(not set)")
    ]


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` with ``torch.save`` atomically (a temporary file, then a rename)."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: a crash mid-save leaves the previous checkpoint intact
