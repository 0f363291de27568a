"""nasgen: neural architecture search for EfficientNet-family CNNs under a MACs budget.

The public API is re-exported here lazily, so ``import nasgen`` (and ``nasgen --help``) never imports
torch or Optuna; each name imports its subpackage on first use. ``nasgen.search`` and ``nasgen.train`` are
the subpackages; their entry points are ``nasgen.run_search`` (= ``nasgen.search.search``) and
``nasgen.run_training`` (= ``nasgen.train.train``), with their settings in :mod:`nasgen.config`.

Example:
    >>> import nasgen
    >>> spec = nasgen.load_spec("efficientnet-b0")
    >>> nasgen.count_cost(spec).macs
    385814752
    >>> nasgen.SearchConfig(budget="400M").budget
    400000000
"""

from __future__ import annotations

import importlib
from typing import Any

from nasgen import _discovery
from nasgen.errors import (
    BudgetError,
    DataError,
    ExportError,
    NasgenError,
    PluginError,
    SearchError,
    SpecError,
    TrainError,
)

__version__ = "0.1.0"

# public name -> (module that defines it, its name there)
_LAZY = {
    # spec (no torch)
    "ArchSpec": "nasgen.spec",
    "MBConvSpec": "nasgen.spec",
    "FusedMBConvSpec": "nasgen.spec",
    "StemSpec": "nasgen.spec",
    "BlockKind": "nasgen.spec",
    "load_spec": "nasgen.spec",
    "loads_spec": "nasgen.spec",
    "save_spec": "nasgen.spec",
    "dump_yaml": "nasgen.spec",
    "spec_from_arch_def": "nasgen.spec",
    "builtin_architectures": "nasgen.spec",
    # search spaces (no torch)
    "SearchSpace": "nasgen.space",
    "StageSpace": "nasgen.space",
    "StemSpace": "nasgen.space",
    "Choice": "nasgen.space",
    "IntRange": "nasgen.space",
    "Fixed": "nasgen.space",
    "load_space": "nasgen.space",
    "builtin_spaces": "nasgen.space",
    # cost (analytic part has no torch)
    "CostReport": "nasgen.cost",
    "count_cost": "nasgen.cost",
    "arch_graph": "nasgen.cost",
    "graph_hash": "nasgen.cost",
    "measure_cost": "nasgen.cost",  # imports torch on first use
    # plugins and the built-in compound-scaling plugin (no torch)
    "load_plugins": "nasgen.hooks",
    "scale": "nasgen.hooks",
    "scale_preset": "nasgen.hooks",
    "scale_family": "nasgen.hooks",
    # torch side
    "build_model": "nasgen.nn",
    "from_torchvision": "nasgen.nn",
    "from_timm": "nasgen.timm",  # imports timm on first use (the timm extra)
    "run_search": ("nasgen.search", "search"),
    "open_run": "nasgen.runs",  # the run record's reader (no search imported)
    "confirm": "nasgen.search",
    "Run": "nasgen.runs",
    "TrialRecord": "nasgen.runs",
    "write_report": "nasgen.report",  # report.html + figures of a run (matplotlib on first use)
    "export": "nasgen.exporting",  # the subpackage is not called ``export``: see nasgen/exporting/__init__.py
    "load": "nasgen.exporting",
    "run_training": ("nasgen.train", "train"),
    # settings (no torch, no Optuna)
    "SearchConfig": "nasgen.config",
    "TrainConfig": "nasgen.config",
    "FullTrainConfig": "nasgen.config",
}
# subpackages reached as attributes (``nasgen.search.search``) without an import statement
_SUBPACKAGES = ("config", "runs", "search", "timm", "train")

__all__ = sorted(
    [*_LAZY, *_SUBPACKAGES, "BudgetError", "DataError", "ExportError", "NasgenError", "PluginError", "SearchError",
     "SpecError", "TrainError"]
)


def _load_plugins() -> None:
    # Installed in nasgen._discovery so that the spec layer can scan the plugins without importing hooks.
    from nasgen.hooks import load_plugins

    load_plugins()


_discovery.set_plugin_loader(_load_plugins)


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"nasgen.{name}")  # importing binds the attribute for next time
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'nasgen' has no attribute {name!r}")
    module, attribute = target if isinstance(target, tuple) else (target, name)
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
