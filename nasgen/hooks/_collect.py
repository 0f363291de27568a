"""Calling each plugin's provider hooks and checking what they return, plugin by plugin."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from nasgen.errors import PluginError
from nasgen.hooks._specs import BlockKind

__all__ = ["CALLBACK_HOOKS", "Provided", "collect_provided"]

CALLBACK_HOOKS = ("nasgen_trial_start", "nasgen_trial_end", "nasgen_run_complete")


@dataclass
class Provided:
    """What one plugin provides."""

    transforms: dict[str, Any] = field(default_factory=dict)
    block_kinds: dict[str, BlockKind] = field(default_factory=dict)
    search_spaces: dict[str, Any] = field(default_factory=dict)
    callbacks: list[str] = field(default_factory=list)
    apis: dict[str, Any] = field(default_factory=dict)
    evaluators: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> tuple[dict[str, Any], dict[str, BlockKind], dict[str, Any]]:
        """The three named tables, in the order transforms, block kinds, search spaces."""
        return self.transforms, self.block_kinds, self.search_spaces

    def summary(self) -> dict[str, tuple[str, ...]]:
        """Names per category, for listings."""
        return {
            "transforms": tuple(self.transforms),
            "block_kinds": tuple(self.block_kinds),
            "search_spaces": tuple(self.search_spaces),
            "evaluators": tuple(self.evaluators),
            "callbacks": tuple(self.callbacks),
        }


def _check_names(mapping: Any, what: str) -> dict[str, Any]:
    if not isinstance(mapping, dict):
        raise PluginError(f"{what} hook must return a dict, got {type(mapping).__name__}")
    for name in mapping:
        if not isinstance(name, str) or not name:
            raise PluginError(f"{what} names must be non-empty strings, got {name!r}")
    return mapping


def _transforms(value: Any) -> dict[str, Any]:
    table = _check_names(value, "nasgen_transforms")
    for name, func in table.items():
        if not callable(func):
            raise PluginError(f"transform {name!r} is not callable: {func!r}")
    return dict(table)


def _block_kinds(value: Any) -> dict[str, BlockKind]:
    if not isinstance(value, (list, tuple)):
        raise PluginError(f"nasgen_block_kinds hook must return a list of BlockKind, got {type(value).__name__}")
    out: dict[str, BlockKind] = {}
    for block in value:
        if not isinstance(block, BlockKind):
            raise PluginError(f"nasgen_block_kinds returned {block!r}, not a nasgen.hooks.BlockKind")
        if not all(callable(target) or (isinstance(target, str) and ":" in target)
                   for target in (block.builder, block.cost_rule)):
            raise PluginError(f"block kind {block.kind!r} needs a builder and a cost_rule, each a callable or an "
                              f"import string 'module:name'")
        if block.kind in out:
            raise PluginError(f"block kind {block.kind!r} is returned twice")
        out[block.kind] = block
    return out


def _search_spaces(value: Any) -> dict[str, Any]:
    table = _check_names(value, "nasgen_search_spaces")
    for name, space in table.items():
        if isinstance(space, (str, Path)):
            continue
        if not hasattr(space, "dimensions") or not hasattr(space, "freeze"):
            raise PluginError(f"search space {name!r} must be a YAML path or a SearchSpace, got {space!r}")
    return dict(table)


def _apis(value: Any) -> dict[str, Any]:
    return dict(_check_names(value, "nasgen_api"))


def _evaluators(value: Any) -> dict[str, Any]:
    table = _check_names(value, "nasgen_evaluators")
    for name, factory in table.items():
        if not callable(factory):
            raise PluginError(f"evaluator {name!r} is not a factory (callable): {factory!r}")
        if ":" in name:
            raise PluginError(f"evaluator name {name!r} must not contain ':' (it separates NAME:ARGUMENT)")
    return dict(table)


_PROVIDERS = (
    ("nasgen_api", "apis", _apis),
    ("nasgen_transforms", "transforms", _transforms),
    ("nasgen_block_kinds", "block_kinds", _block_kinds),
    ("nasgen_search_spaces", "search_spaces", _search_spaces),
    ("nasgen_evaluators", "evaluators", _evaluators),
)


def collect_provided(manager: pluggy.PluginManager, provided: dict[str, Provided]) -> Iterator[tuple[str, Exception]]:
    """Fill ``provided`` (plugin name → :class:`Provided`) and yield ``(plugin, error)`` for each plugin
    whose provider hook raised or returned something malformed; its entry is removed from ``provided``."""
    for name, _plugin in manager.list_name_plugin():
        provided[name] = Provided()
    failed: dict[str, Exception] = {}
    for hook_name, attribute, check in _PROVIDERS:
        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            if impl.plugin_name in failed:
                continue
            try:
                setattr(provided[impl.plugin_name], attribute, check(impl.function()))
            except Exception as exc:
                failed[impl.plugin_name] = exc
    for hook_name in CALLBACK_HOOKS:
        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            provided[impl.plugin_name].callbacks.append(hook_name.removeprefix("nasgen_"))
    for name, exc in failed.items():
        del provided[name]
        yield name, exc
