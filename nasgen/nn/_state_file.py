"""Reading a state dict from a weights file the user gives: safetensors, or a torch file loaded safely.

The format is told by the file's first bytes, not its name, except that a ``.safetensors`` name is a promise:
a pickle under that name is refused rather than unpickled. Torch files go through
``torch.load(..., weights_only=True)`` only (no arbitrary objects are rebuilt), and a checkpoint that wraps its
state dict (timm's ``state_dict`` / ``state_dict_ema``, a training script's ``model``, nasgen's ``checkpoint.pt``)
is unwrapped. Every failure is one error naming the file and the cause.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from nasgen.errors import NasgenError, SpecError

__all__ = ["NAMINGS", "naming_of", "read_state_dict"]

_WRAPPERS = ("state_dict", "model", "state_dict_ema", "model_ema", "trainer", "module")
"""Keys under which checkpoints keep their state dict, in the order they are tried."""

NAMINGS = {
    "nasgen": ("stem.conv.", "stages.", "head.conv."),
    "timm": ("conv_stem.", "blocks.", "conv_head."),
    "torchvision": ("features.0.0.", "features.1.", "classifier.1."),
}
"""Key prefixes that tell whose names a state dict uses (nasgen's, timm's EfficientNet, torchvision's)."""


def _kind(head: bytes) -> str:
    """``"safetensors"``, ``"zip"`` (torch.save), ``"pickle"`` or ``"unknown"``, from the first 16 bytes."""
    if len(head) >= 9 and head[8:9] == b"{" and 2 <= int.from_bytes(head[:8], "little") <= 100_000_000:
        return "safetensors"
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    return "unknown"


def _load_safetensors(path: Path, error: type[NasgenError]) -> dict[str, Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, json.JSONDecodeError) as exc:
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise error(f"{path}: not a complete safetensors file ({cause}); truncated or corrupt?") from None


def _load_torch(path: Path, error: type[NasgenError]) -> Any:
    import pickle
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Detected pickle protocol 4": harmless here
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))  # the first class it would have had to rebuild
        detail = f" (such as {found.group(1)})" if found else ""
        raise error(f"{path}: torch.load(weights_only=True) refused it: it holds objects other than tensors{detail}; "
                    "save the state dict alone, or as safetensors") from None
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        cause = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise error(f"{path}: cannot be read as a torch file ({cause}); truncated or corrupt?") from None


def _unwrap(obj: Any, path: Path, error: type[NasgenError]) -> dict[str, Tensor]:
    for _ in range(4):  # nasgen's checkpoint.pt: {"trainer": {"model": state}}
        if isinstance(obj, Mapping) and obj and all(isinstance(v, Tensor) for v in obj.values()):
            break
        inner = next((obj[key] for key in _WRAPPERS if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping)),
                     None)  # fmt: skip
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, Mapping):
        raise error(f"{path}: holds a {type(obj).__name__}, not a state dict of tensors")
    tensors = {str(k): v for k, v in obj.items() if isinstance(v, Tensor)}
    if not tensors:
        keys = ", ".join(map(str, list(obj)[:5]))
        raise error(f"{path}: holds no tensors (keys: {keys or 'none'})")
    prefix = "module."  # DistributedDataParallel
    if all(key.startswith(prefix) for key in tensors):
        tensors = {key[len(prefix):]: value for key, value in tensors.items()}
    return tensors


def read_state_dict(path: str | Path, *, error: type[NasgenError] = SpecError) -> dict[str, Tensor]:
    """The tensors of a weights file, on the CPU.

    Args:
        path: A ``.safetensors`` file, or a torch file (``.pt``, ``.pth``, ``.bin``, ``.ckpt`` …) holding a state
            dict, possibly wrapped (``{"state_dict": …}``, ``{"model": …}``, nasgen's ``checkpoint.pt``).
        error: The :class:`~nasgen.errors.NasgenError` class to raise (``TrainError`` for ``nasgen train``).

    Raises:
        NasgenError: (``error``) A missing file, a pickle named ``.safetensors``, a truncated or corrupt file,
            a torch file ``weights_only`` refuses, or one without tensors; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    with path.open("rb") as handle:
        head = handle.read(16)
    kind = _kind(head)
    if path.suffix == ".safetensors" and kind in ("zip", "pickle"):
        raise error(f"{path}: named .safetensors but it is a torch.save (pickle) file; nasgen does not unpickle a "
                    "file promised as safetensors (rename it .pt to load it with torch.load(weights_only=True))")
    if kind == "safetensors" or path.suffix == ".safetensors":
        return _load_safetensors(path, error)
    if kind == "unknown":
        raise error(f"{path}: neither safetensors nor a torch file (it starts with {head[:8]!r}); truncated?")
    return _unwrap(_load_torch(path, error), path, error)


def naming_of(keys: Any) -> str | None:
    """Whose names a state dict uses: ``"nasgen"``, ``"timm"``, ``"torchvision"``, or ``None`` (none of them)."""
    keys = list(keys)
    scores = {name: sum(1 for key in keys if key.startswith(prefixes)) for name, prefixes in NAMINGS.items()}
    best = max(scores, key=scores.get)  # type: ignore[arg-type]
    return best if scores[best] else None
