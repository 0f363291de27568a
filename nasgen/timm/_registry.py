"""``nasgen.timm.register()``: nasgen architectures in timm's model registry.

An explicit call, never an import side effect: ``import nasgen`` / ``import nasgen.timm`` register nothing (and
import no timm). After ``register()``, ``timm.create_model("nasgen_efficientnet_b0", pretrained=False,
num_classes=10)`` returns nasgen's network (:func:`nasgen.nn.build_model`) with a timm-style ``pretrained_cfg``,
so timm's training scripts, ``resolve_data_config`` and ``timm.list_models("nasgen_*")`` work with it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from nasgen.errors import PluginError, SpecError
from nasgen.nn import build_model
from nasgen.spec import ArchSpec, builtin_architectures, load_spec, timm_model_name

__all__ = ["register", "registered_name"]

_IGNORED = ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir", "device", "dtype")
"""Keywords timm's ``create_model`` passes to every entrypoint that a nasgen network has no use for."""


def registered_name(arch: ArchSpec | str | Path) -> str:
    """The timm name of an architecture: ``nasgen_`` + its name in snake case (``nasgen_efficientnetv2_s``).

    Raises:
        SpecError: ``arch`` cannot be loaded.
    """
    spec = load_spec(arch)
    return timm_model_name(spec.name or f"arch-{spec.short_hash()}")


def _pretrained_cfg(spec: ArchSpec, name: str) -> dict[str, Any]:
    # timm's defaults for an ImageNet EfficientNet; nasgen ships architectures, not weights (no url / hub id)
    return {
        "url": "", "architecture": name, "tag": None, "input_size": (spec.in_channels, spec.resolution_px,
        spec.resolution_px), "interpolation": "bicubic", "crop_pct": 0.875, "crop_mode": "center",
        "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225), "num_classes": spec.num_classes,
        "first_conv": "stem.conv", "classifier": "classifier", "license": "apache-2.0",
    }  # fmt: skip


def _entrypoint(spec: ArchSpec, name: str) -> Callable[..., nn.Module]:
    def entrypoint(pretrained: bool = False, *, num_classes: int | None = None, in_chans: int | None = None,
                   drop_rate: float | None = None, drop_path_rate: float | None = None, **kwargs: Any) -> nn.Module:
        if pretrained:
            raise SpecError(f"{name}: nasgen ships no pretrained weights; create it with pretrained=False and load "
                            "yours (nasgen.load, or load_state_dict of a weights.safetensors)")
        unknown = sorted(key for key, value in kwargs.items() if key not in _IGNORED and value is not None)
        if unknown:
            raise TypeError(f"{name}: timm.create_model got keywords a nasgen network does not take: {unknown}")
        changes = {"num_classes": num_classes, "in_channels": in_chans, "dropout": drop_rate,
                   "drop_path_rate": drop_path_rate}  # fmt: skip
        net = spec.replace(**{key: value for key, value in changes.items() if value is not None})
        model = build_model(net, classifier_init="max_fan")
        model.pretrained_cfg = model.default_cfg = _pretrained_cfg(net, name)
        model.num_classes = net.num_classes
        return model

    entrypoint.__name__ = entrypoint.__qualname__ = name
    entrypoint.__module__ = "nasgen.timm._entrypoints"
    entrypoint.__doc__ = f"nasgen's {spec.name or name} ({' '.join(spec.display())}), registered by nasgen.timm."
    return entrypoint


def _register_one(spec: ArchSpec, name: str) -> None:
    import timm.models

    from nasgen.timm import _entrypoints

    if timm.is_model(name):
        if timm.models.model_entrypoint(name).__module__ == _entrypoints.__name__:
            previous = getattr(_entrypoints, name, None)
            if getattr(previous, "nasgen_hash", None) == spec.content_hash():
                return  # the same architecture again: nothing to do
            raise PluginError(f"{name} is already registered with timm for another nasgen architecture")
        module = timm.models.model_entrypoint(name).__module__
        raise PluginError(f"{name} is already a timm model (from {module}); give another name")
    entrypoint = _entrypoint(spec, name)
    entrypoint.nasgen_hash = spec.content_hash()  # type: ignore[attr-defined]
    setattr(_entrypoints, name, entrypoint)
    timm.models.register_model(entrypoint)


def register(arch: ArchSpec | str | Path | None = None, *, name: str | None = None) -> list[str]:
    """Add nasgen architectures to timm's model registry (an explicit call; importing registers nothing).

    Args:
        arch: One architecture (a spec, built-in name or YAML/JSON path); ``None`` = every built-in one.
        name: The timm name for ``arch`` (default :func:`registered_name`, ``nasgen_<name>``).

    Returns:
        The registered names; ``timm.create_model(name, pretrained=False, num_classes=…, in_chans=…,
        drop_rate=…, drop_path_rate=…)`` then builds the nasgen network (classifier drawn by ``"max_fan"``, as
        ``nasgen train``).

    Raises:
        SpecError: timm is not installed, or ``arch`` cannot be loaded.
        PluginError: The name is taken by a timm model or by another nasgen architecture.

    Example:
        >>> import timm, nasgen.timm  # doctest: +SKIP
        >>> nasgen.timm.register()  # doctest: +SKIP
        >>> timm.create_model("nasgen_efficientnet_b0", num_classes=10).classifier  # doctest: +SKIP
        Linear(in_features=1280, out_features=10, bias=True)
    """
    try:
        import timm  # noqa: F401
    except ImportError:
        raise SpecError("nasgen.timm.register needs timm: pip install timm (or nasgen[timm])") from None
    if arch is None:
        if name is not None:
            raise SpecError("name= is for one architecture; register(arch, name=...)")
        specs = [load_spec(builtin) for builtin in builtin_architectures()]
    else:
        specs = [load_spec(arch)]
    names = []
    for spec in specs:
        chosen = name or registered_name(spec)
        _register_one(spec, chosen)
        names.append(chosen)
    return names
