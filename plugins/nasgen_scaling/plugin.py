"""The compound-scaling plugin's hooks: registered by the entry point ``compound_scaling`` in the group
``nasgen`` exactly as a third-party plugin would be (see nasgen's ``pyproject.toml``)."""

from __future__ import annotations

from types import ModuleType

import nasgen_scaling
from nasgen.hooks import Transform, hookimpl
from nasgen_scaling._scale import scale, scale_preset

__all__ = ["nasgen_api", "nasgen_transforms"]


@hookimpl
def nasgen_api() -> dict[str, ModuleType]:
    """``compound_scaling``: the package's public functions, used by ``nasgen scale`` and ``nasgen.scale_family``."""
    return {"compound_scaling": nasgen_scaling}


@hookimpl
def nasgen_transforms() -> dict[str, Transform]:
    """``scale(spec, phi, alpha, beta, gamma, …)`` and ``scale_preset(spec, preset)``."""
    return {"scale": scale, "scale_preset": scale_preset}
