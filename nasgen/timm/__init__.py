"""timm interop: read timm's EfficientNets into nasgen, and make nasgen's architectures timm models.

* :func:`from_timm` (also ``nasgen.from_timm``): ``(ArchSpec, state_dict)`` of a timm EfficientNet — the
  ``efficientnet_b0…b8``, ``efficientnet_lite0…4``, ``efficientnet_es/em/el``, ``efficientnetv2_rw_t/s/m``,
  ``efficientnetv2_s/m/l/xl`` families, their ``tf_`` ports and ``tf_efficientnetv2_b0…b3`` — read off the
  built modules, so the nasgen network computes the same logits (``docs/pretrained.md``).
* :func:`import_timm` (``nasgen import timm:NAME [--weights FILE] -o DIR``): the same as a directory of
  ``arch.yaml`` + ``weights.safetensors`` with timm's data config, for ``nasgen export`` and ``train --init``.
* :func:`register`: an explicit call (importing this package registers nothing) that adds nasgen's
  architectures to timm's registry as ``nasgen_<name>``, so ``timm.create_model("nasgen_efficientnet_b0",
  num_classes=10)`` builds a nasgen network.

timm is optional: importing this package does not import it; each function does, and says how to install it
when it is missing.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ImportResult", "create_timm_model", "from_timm", "import_timm", "register", "registered_name", "spec_from_timm",
    "timm_data_config",
]

_LAZY = {
    "create_timm_model": "nasgen.timm._import",
    "from_timm": "nasgen.timm._import",
    "spec_from_timm": "nasgen.timm._import",
    "timm_data_config": "nasgen.timm._import",
    "ImportResult": "nasgen.timm._files",
    "import_timm": "nasgen.timm._files",
    "register": "nasgen.timm._registry",
    "registered_name": "nasgen.timm._registry",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nasgen.timm' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
