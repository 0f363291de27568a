"""Reading and writing state dicts safely: safetensors, or ``torch.load(..., weights_only=True)``.

Nothing here unpickles arbitrary objects: a ``.pt`` file is read with ``weights_only=True``, which only
rebuilds tensors and plain containers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nasgen.errors import ExportError

__all__ = ["load_weights_into", "read_state_dict", "save_state_dict"]


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a state dict from ``.safetensors`` or a ``weights_only`` ``.pt`` / ``.pth`` file (on the CPU).

    A ``.pt`` file may hold the state dict itself or wrap it as ``{"state_dict": ...}`` / ``{"model": ...}``.

    Raises:
        ExportError: The file is missing, unreadable, of an unknown type, or holds no tensor mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"no weights file at {str(path)!r}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return dict(load_file(str(path), device="cpu"))
        if path.suffix in (".pt", ".pth"):
            data: Any = torch.load(path, map_location="cpu", weights_only=True)
        else:
            raise ExportError(f"{str(path)!r}: expected a .safetensors or .pt weights file")
    except ExportError:
        raise
    except Exception as exc:  # safetensors / pickle errors on a corrupt or unsafe file
        raise ExportError(f"cannot read weights {str(path)!r}: {type(exc).__name__}: {exc}") from None
    for key in ("state_dict", "model"):
        if isinstance(data, Mapping) and isinstance(data.get(key), Mapping):
            data = data[key]
    if not isinstance(data, Mapping) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ExportError(f"{str(path)!r}: expected a mapping of parameter names to tensors")
    return dict(data)


def load_weights_into(model: nn.Module, state: Mapping[str, torch.Tensor], *, where: str) -> None:
    """Load ``state`` into ``model`` strictly (every key, every shape).

    Raises:
        ExportError: Keys are missing or unexpected, or a shape differs; names the first few and ``where``.
    """
    own = model.state_dict()
    missing = [key for key in own if key not in state]
    unexpected = [key for key in state if key not in own]
    wrong = [
        f"{key} {tuple(state[key].shape)} != {tuple(own[key].shape)}"
        for key in own
        if key in state and tuple(state[key].shape) != tuple(own[key].shape)
    ]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", wrong)):
        if items:
            shown = ", ".join(items[:3]) + (f" … ({len(items)} in all)" if len(items) > 3 else "")
            problems.append(f"{label}: {shown}")
    if problems:
        raise ExportError(f"{where}: the weights do not fit the architecture ({'; '.join(problems)})")
    model.load_state_dict(dict(state), strict=True)


def save_state_dict(model: nn.Module, path: Path, metadata: dict[str, str]) -> None:
    """Write ``model``'s state dict as safetensors (contiguous CPU copies) with string ``metadata``."""
    from safetensors.torch import save_file

    state = {key: value.detach().to("cpu").contiguous() for key, value in model.state_dict().items()}
    save_file(state, str(path), metadata=metadata)
