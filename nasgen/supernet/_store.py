"""A trained supernet on disk: ``<run>/supernet/`` holds ``supernet.safetensors``, ``state.pt`` and ``meta.json``.

``meta.json`` names what the weights depend on, the *keys*: the space's content hash, the data's fingerprint (by
content, :func:`nasgen.data.fingerprint`), the recipe's hash, the classes and input channels and the split
seed. A supernet is reused only when every key matches and refused with the differing key otherwise; ``state.pt``
(optimizer, schedule, epoch; read with ``weights_only=True``) lets a killed training resume at its last epoch.
The weights are read memory-mapped (safetensors), so worker processes that load one file share its pages.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from nasgen.config import SupernetRecipe
from nasgen.errors import DataError, TrainError
from nasgen.space import SearchSpace, dump_space, loads_space

__all__ = [
    "META_FILE",
    "STATE_FILE",
    "SUPERNET_DIR",
    "WEIGHTS_FILE",
    "SupernetRun",
    "check_keys",
    "load_supernet",
    "read_meta",
    "supernet_dir",
    "write_atomic",
]

SUPERNET_DIR = "supernet"
WEIGHTS_FILE = "supernet.safetensors"
STATE_FILE = "state.pt"
META_FILE = "meta.json"
FORMAT = 1


@dataclass(frozen=True)
class SupernetRun:
    """A trained (or reused) supernet.

    Attributes:
        path: Its folder (``<run>/supernet``).
        supernet: The network (eval mode).
        recipe: The recipe it was trained with.
        meta: The contents of ``meta.json`` (keys, seed, epochs, history).
        reused: Loaded as trained before (nothing trained in this call).
        seconds: Wall time of this call (s).
    """

    path: Path
    supernet: Any = field(repr=False)
    recipe: SupernetRecipe
    meta: dict[str, Any] = field(repr=False)
    reused: bool
    seconds: float

    @property
    def history(self) -> list[dict[str, Any]]:
        """One row per trained epoch: loss, the largest and smallest subnets' top-1, seconds."""
        return list(self.meta.get("history", []))


def supernet_dir(path: str | Path) -> Path:
    """The supernet folder of ``path``: ``path/supernet`` when it has one (a run directory), else ``path``."""
    path = Path(path)
    return path / SUPERNET_DIR if (path / SUPERNET_DIR / META_FILE).exists() else path


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write a file through a temporary one and a rename, so a kill leaves the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)


def read_meta(folder: Path) -> dict[str, Any] | None:
    """``meta.json`` of a supernet folder, or ``None`` when there is none.

    Raises:
        TrainError: The file is not a supernet's meta file of this format.
    """
    path = folder / META_FILE
    if not path.exists():
        return None
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise TrainError(f"cannot read {str(path)!r}: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "keys" not in meta:
        raise TrainError(f"{str(path)!r} is not the meta file of a nasgen supernet (format {FORMAT})")
    return meta


def make_keys(space: SearchSpace, fingerprint: str, recipe: SupernetRecipe, num_classes: int, in_channels: int,
              split_seed: int) -> dict[str, Any]:  # fmt: skip
    """What a supernet's weights depend on (see the module docstring)."""
    return {
        "space_hash": space.content_hash(), "data_fingerprint": fingerprint, "recipe_hash": recipe.recipe_hash(),
        "num_classes": num_classes, "in_channels": in_channels, "split_seed": split_seed,
    }  # fmt: skip


def check_keys(meta: dict[str, Any], keys: dict[str, Any], folder: Path, recipe: SupernetRecipe) -> None:
    """Raise unless the supernet of ``meta`` was trained for ``keys`` (and ``recipe``, whose changes are named).

    Raises:
        DataError: It was trained on other data (both fingerprints named).
        TrainError: Another space, recipe (each changed setting named), classes, channels or split.
    """
    old, where = meta["keys"], str(folder / META_FILE)
    hint = "; pass another run directory, or train_supernet(..., resume=False) to train it again"
    if old.get("data_fingerprint") != keys["data_fingerprint"]:
        raise DataError(f"{where}: the supernet there was trained on other data ({old.get('data_fingerprint')}), "
                        f"not on this data ({keys['data_fingerprint']}){hint}")  # fmt: skip
    if old.get("space_hash") != keys["space_hash"]:
        raise TrainError(f"{where}: the supernet there belongs to another search space (sha256 "
                         f"{str(old.get('space_hash'))[:12]}…, this one {keys['space_hash'][:12]}…){hint}")  # fmt: skip
    if old.get("recipe_hash") != keys["recipe_hash"]:
        raise TrainError(f"{where}: the supernet there was trained with another recipe "
                         f"({_recipe_changes(meta.get('recipe', {}), recipe.training_dict())}){hint}")  # fmt: skip
    for name in ("num_classes", "in_channels", "split_seed"):
        if old.get(name) != keys[name]:
            raise TrainError(f"{where}: the supernet there has {name} {old.get(name)}, not {keys[name]}{hint}")


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(_flat(item, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _recipe_changes(old: dict[str, Any], new: dict[str, Any]) -> str:
    before, after = _flat(old), _flat(new)
    changes = [f"{name}: {before.get(name)!r} -> {after.get(name)!r}" for name in dict.fromkeys([*before, *after])
               if before.get(name) != after.get(name)]  # fmt: skip
    return "; ".join(changes[:6]) or "its hash differs"


def new_meta(keys: dict[str, Any], space: SearchSpace, recipe: SupernetRecipe, seed: int) -> dict[str, Any]:
    """The ``meta.json`` contents of a supernet about to be trained."""
    return {
        "format": FORMAT, "keys": keys, "space": dump_space(space), "recipe": recipe.training_dict(),
        "scoring": _scoring(recipe), "seed": seed, "epochs_done": 0,
        "epochs": recipe.train.epochs, "complete": False, "history": [],
    }  # fmt: skip


def _scoring(recipe: SupernetRecipe) -> dict[str, Any]:
    """The recipe's scoring settings (not keys: another value reuses the supernet)."""
    train = recipe.train
    return {"calibration_images": recipe.calibration_images,
            "train": {"val_images": train.val_images, "eval_batch_size": train.eval_batch_size}}  # fmt: skip


def save_epoch(folder: Path, supernet: torch.nn.Module, state: dict[str, Any], meta: dict[str, Any]) -> None:
    """Write the weights, the resume state and the meta file of a finished epoch (each atomically, meta last)."""
    from safetensors.torch import save

    tensors = {name: tensor.detach().to("cpu").contiguous() for name, tensor in supernet.state_dict().items()}
    write_atomic(folder / WEIGHTS_FILE, save(tensors, metadata={"format": str(FORMAT)}))
    tmp = folder / (STATE_FILE + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, folder / STATE_FILE)
    write_atomic(folder / META_FILE, json.dumps(meta, indent=1))


def load_state(folder: Path) -> dict[str, Any] | None:
    """The resume state of an unfinished training (``weights_only`` loading), or ``None``.

    Raises:
        TrainError: The file cannot be read.
    """
    path = folder / STATE_FILE
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user-facing error here
        raise TrainError(f"cannot read {str(path)!r}: {exc}") from None


def load_weights(folder: Path, meta: dict[str, Any], device: str | torch.device = "cpu"):
    """The supernet of ``folder`` with its weights memory-mapped from ``supernet.safetensors`` (on the CPU).

    Raises:
        TrainError: The weights file is missing or does not match the supernet the meta file describes.
    """
    from safetensors.torch import load_file

    from nasgen.nn import no_init
    from nasgen.supernet._net import Supernet

    path = folder / WEIGHTS_FILE
    if not path.exists():
        raise TrainError(f"{str(path)!r} is missing: the supernet in {str(folder)!r} has no weights")
    keys = meta["keys"]
    with torch.device("meta"), no_init():
        supernet = Supernet(loads_space(meta["space"]), num_classes=keys["num_classes"],
                            in_channels=keys["in_channels"])  # fmt: skip
    try:
        supernet.load_state_dict(load_file(path, device=str(device)), assign=True)
    except (RuntimeError, OSError, ValueError) as exc:
        raise TrainError(f"{str(path)!r} does not hold this supernet's weights: {str(exc)[:300]}") from None
    return supernet.eval()


def load_supernet(path: str | Path, *, device: str | torch.device = "cpu") -> SupernetRun:
    """A trained supernet from its folder or its run directory; the weights memory-mapped (safetensors), so
    several processes that load the same file share one copy of them in memory.

    Args:
        path: ``<run>/supernet`` or ``<run>``.
        device: Where the weights go (``"cpu"`` keeps them mapped).

    Returns:
        A :class:`SupernetRun` (``reused=True``).

    Raises:
        TrainError: No supernet there, its training is not finished, or its files are unreadable.
    """
    import time

    start = time.perf_counter()
    folder = supernet_dir(path)
    meta = read_meta(folder)
    if meta is None:
        raise TrainError(f"no supernet in {str(folder)!r} (no {META_FILE})")
    if not meta.get("complete"):
        raise TrainError(f"the supernet in {str(folder)!r} is trained to epoch {meta.get('epochs_done')} of "
                         f"{meta.get('epochs')}: run train_supernet again to finish it")  # fmt: skip
    supernet = load_weights(folder, meta, device)
    scoring = meta["scoring"]
    recipe = SupernetRecipe.from_dict({**meta["recipe"], "calibration_images": scoring["calibration_images"],
                                       "train": {**meta["recipe"]["train"], **scoring["train"]}})  # fmt: skip
    return SupernetRun(folder, supernet, recipe, meta, True, time.perf_counter() - start)
