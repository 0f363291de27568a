"""The supernet recipes by name, built from the default proxies (one home for the proxy's settings)."""

from __future__ import annotations

import torch

from nasgen.config import SUPERNET_PRESETS, SupernetRecipe
from nasgen.errors import SpecError
from nasgen.train import CPU_PROXY, GPU_PROXY, resolve_device

__all__ = ["default_supernet_recipe", "supernet_recipe"]


def _presets() -> dict[str, SupernetRecipe]:
    # The proxy's optimizer, lr, schedule, batch, resolution rule and regularization (docs/proxy.md); epochs, images
    # per epoch and calibration images sized by measurement (docs/supernet.md): "cpu" trains in about 25 min on the
    # slower 2-core machine of docs/proxy.md (a sandwich step costs 4.2 B0 proxy steps), "quick" in about 3.
    cpu = CPU_PROXY.replace(epochs=4, images_per_epoch=8_000, warmup_epochs=0.125, classifier_init="max_fan")
    quick = CPU_PROXY.replace(epochs=2, images_per_epoch=2_000, warmup_epochs=0.5, val_images=1_000,
                              classifier_init="max_fan")
    return {
        "quick": SupernetRecipe(train=quick, n_random=1, calibration_images=250),
        "cpu": SupernetRecipe(train=cpu, calibration_images=500),
        "gpu": SupernetRecipe(train=GPU_PROXY.replace(epochs=40, warmup_epochs=1.0), calibration_images=2_000),
    }


def supernet_recipe(name: str) -> SupernetRecipe:
    """The recipe named ``name``: ``"quick"`` (CI, minutes on a 2-core CPU), ``"cpu"`` (the default on a CPU) or
    ``"gpu"`` (the default on CUDA).

    Raises:
        SpecError: Unknown name (the known ones listed).
    """
    presets = _presets()
    if name not in presets:
        raise SpecError(f"must be one of {', '.join(SUPERNET_PRESETS)}, got {name!r}", path="supernet_recipe",
                        value=name)  # fmt: skip
    return presets[name]


def default_supernet_recipe(device: str | torch.device | None = None) -> SupernetRecipe:
    """``"gpu"`` on CUDA, else ``"cpu"`` (``None`` = the device :func:`nasgen.train.resolve_device` picks)."""
    return supernet_recipe("gpu" if resolve_device(device).type == "cuda" else "cpu")
