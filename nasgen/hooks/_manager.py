"""Loading plugins from entry points into one pluggy manager, and the registry of what they provide.

Each plugin loads inside its own ``try``: one that fails to import (or whose hooks raise or return
something malformed) is recorded as a :class:`PluginFailure`, warned about once, and left out, while the
others still load. Two plugins providing the same name is a :class:`~nasgen.errors.PluginError`.
"""

from __future__ import annotations

import importlib
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pluggy

from nasgen.errors import PluginError
from nasgen.hooks._collect import Provided, collect_provided
from nasgen.hooks._specs import PROJECT, BlockKind, NasgenHookSpecs, Transform
from nasgen.spec import register_block_kind, unregister_stage_kind

__all__ = [
    "BUILTIN_PLUGINS",
    "PluginFailure",
    "PluginInfo",
    "PluginLoadWarning",
    "PluginRegistry",
    "build_registry",
    "get_plugin_manager",
    "load_plugins",
]

BUILTIN_PLUGINS = {"compound_scaling": "nasgen_scaling.plugin", "report": "nasgen.report.plugin"}
"""Plugins shipped in nasgen's wheel (entry-point name → module). They are registered by entry point like
any other; when no entry point declares one (a checkout run with ``plugins/`` on ``PYTHONPATH`` but never
installed), it is imported by name. nasgen reaches them only through their hooks."""


class PluginLoadWarning(UserWarning):
    """A plugin failed to load and was left out; the others still loaded."""


@dataclass(frozen=True)
class PluginInfo:
    """A loaded plugin and what it provides.

    Attributes:
        name: Entry-point name (``compound_scaling``).
        module: Entry-point value (``nasgen_scaling.plugin``).
        source: The distribution that declares it (``nasgen 0.1.0``), or ``source tree`` for a built-in
            plugin imported from an uninstalled checkout, or ``in-process``.
        path: File of the plugin module, when it has one.
        provides: ``{"transforms": (...), "block_kinds": (...), "search_spaces": (...),
            "callbacks": (...)}``.
    """

    name: str
    module: str
    source: str
    path: str | None
    provides: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that was left out, and why."""

    name: str
    module: str
    source: str
    error: str

    @property
    def message(self) -> str:
        """``plugin 'NAME' (MODULE, from SOURCE) failed to load: ERROR``."""
        return f"plugin {self.name!r} ({self.module}, from {self.source}) failed to load: {self.error}"


@dataclass(frozen=True)
class PluginRegistry:
    """Everything the loaded plugins provide, with the plugin that provides each name.

    Attributes:
        manager: The pluggy manager holding the loaded plugins.
        plugins: Loaded plugins in load order.
        failures: Plugins left out.
        transforms: Transform name → ``(function, plugin name)``.
        block_kinds: Stage kind → ``(BlockKind, plugin name)``.
        search_spaces: Space name → ``(path or SearchSpace, plugin name)``.
        apis: Interface name → ``(object, plugin name)`` (the ``nasgen_api`` hook).
        evaluators: Evaluator name → ``(factory, plugin name)`` (the ``nasgen_evaluators`` hook).
    """

    manager: pluggy.PluginManager
    plugins: tuple[PluginInfo, ...] = ()
    failures: tuple[PluginFailure, ...] = ()
    transforms: Mapping[str, tuple[Transform, str]] = field(default_factory=dict)
    block_kinds: Mapping[str, tuple[BlockKind, str]] = field(default_factory=dict)
    search_spaces: Mapping[str, tuple[Any, str]] = field(default_factory=dict)
    apis: Mapping[str, tuple[Any, str]] = field(default_factory=dict)
    evaluators: Mapping[str, tuple[Any, str]] = field(default_factory=dict)

    def api(self, name: str) -> Any:
        """The interface ``name`` a plugin offers through ``nasgen_api``.

        Raises:
            PluginError: No loaded plugin offers it; the message gives the load failures, if any.
        """
        try:
            return self.apis[name][0]
        except KeyError:
            failures = "; ".join(f.message for f in self.failures) or "no loaded plugin offers it"
            raise PluginError(f"plugin interface {name!r} is not available: {failures}") from None

    def transform(self, name: str) -> Transform:
        """The transform called ``name``.

        Raises:
            PluginError: No loaded plugin provides ``name``.
        """
        try:
            return self.transforms[name][0]
        except KeyError:
            known = ", ".join(sorted(self.transforms)) or "none"
            raise PluginError(f"unknown transform {name!r}; loaded transforms: {known}") from None

    def apply_transform(self, name: str, spec: Any, **options: Any) -> Any:
        """``transform(spec, **options)``, checked to return an ArchSpec.

        Raises:
            PluginError: Unknown transform, or it returned something other than an ArchSpec.
            SpecError: The transform rejected its options (raised by the transform).
        """
        from nasgen.spec import ArchSpec

        result = self.transform(name)(spec, **options)
        if not isinstance(result, ArchSpec):
            plugin = self.transforms[name][1]
            raise PluginError(f"transform {name!r} of plugin {plugin!r} returned {type(result).__name__}, not ArchSpec")
        return result

    def search_space(self, name: str) -> Any:
        """The plugin search space ``name`` as a :class:`~nasgen.space.SearchSpace`.

        Raises:
            PluginError: No loaded plugin provides ``name``.
            SpecError: The space file is invalid.
        """
        if name not in self.search_spaces:
            known = ", ".join(sorted(self.search_spaces)) or "none"
            raise PluginError(f"unknown plugin search space {name!r}; plugin spaces: {known}")
        value = self.search_spaces[name][0]
        if isinstance(value, (str, Path)):
            from nasgen.space import load_space

            return load_space(Path(value))
        return value

    def trial_start(self, trial_number: int, spec: Any) -> None:
        """Call every ``nasgen_trial_start`` hook.

        Raises:
            PluginError: A hook raised; names the plugin, the trial and the error.
        """
        self._call("nasgen_trial_start", trial_number=trial_number, spec=spec)

    def trial_end(self, trial_number: int, spec: Any, result: Any) -> None:
        """Call every ``nasgen_trial_end`` hook.

        Raises:
            PluginError: A hook raised; names the plugin, the trial and the error.
        """
        self._call("nasgen_trial_end", trial_number=trial_number, spec=spec, result=result)

    def run_complete(self, run: Any, out: Any = None, console: Any = None) -> None:
        """Call every ``nasgen_run_complete`` hook.

        Raises:
            PluginError: A hook raised; names the plugin and the error.
        """
        self._call("nasgen_run_complete", run=run, out=out, console=console)

    def implements(self, hook_name: str) -> bool:
        """Whether any plugin implements ``hook_name`` (e.g. ``"nasgen_trial_end"``): callers skip building the
        hook's arguments otherwise."""
        return bool(getattr(self.manager.hook, hook_name).get_hookimpls())

    def _call(self, hook_name: str, **kwargs: Any) -> None:
        # One by one (pluggy's order: last registered first) so an error names its plugin.
        for impl in reversed(getattr(self.manager.hook, hook_name).get_hookimpls()):
            try:
                impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
            except Exception as exc:
                where = f" (trial {kwargs['trial_number']})" if "trial_number" in kwargs else ""
                raise PluginError(
                    f"plugin {impl.plugin_name!r} failed in {hook_name}{where}: {type(exc).__name__}: {exc}"
                ) from exc


@dataclass
class _Candidate:
    name: str
    value: str
    source: str
    load: Callable[[], Any]


def _describe_source(entry: EntryPoint) -> str:
    dist = getattr(entry, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else "in-process"


def _candidates(selected: Iterable[EntryPoint] | None, builtins: bool) -> list[_Candidate]:
    found = list(entry_points(group=PROJECT)) if selected is None else list(selected)
    out: list[_Candidate] = []
    seen: set[tuple[str, str]] = set()
    for entry in found:
        if (entry.name, entry.value) in seen:
            continue  # the same distribution visible twice on sys.path (editable + site-packages)
        seen.add((entry.name, entry.value))
        out.append(_Candidate(entry.name, entry.value, _describe_source(entry), entry.load))
    declared = {value for _, value in seen}
    for name, value in BUILTIN_PLUGINS.items() if builtins else ():
        if value not in declared:
            out.append(_Candidate(name, value, "source tree", lambda value=value: importlib.import_module(value)))
    return out


def _fail(failures: list[PluginFailure], candidate: _Candidate, exc: BaseException) -> None:
    failure = PluginFailure(candidate.name, candidate.value, candidate.source, f"{type(exc).__name__}: {exc}")
    failures.append(failure)
    warnings.warn(failure.message, PluginLoadWarning, stacklevel=3)


def _register(manager: pluggy.PluginManager, candidates: list[_Candidate], failures: list[PluginFailure]) -> dict:
    loaded: dict[str, tuple[_Candidate, Any]] = {}
    for candidate in candidates:
        try:
            plugin = candidate.load()
            if manager.is_registered(plugin):
                raise PluginError(f"the same plugin object is also registered as {manager.get_name(plugin)!r}")
            manager.register(plugin, name=candidate.name)
        except Exception as exc:
            if manager.has_plugin(candidate.name):  # pluggy keeps a plugin whose hookimpl failed verification
                manager.unregister(name=candidate.name)
            _fail(failures, candidate, exc)
            continue
        try:
            manager.check_pending()
        except pluggy.PluginValidationError as exc:
            manager.unregister(name=candidate.name)
            _fail(failures, candidate, exc)
            continue
        loaded[candidate.name] = (candidate, plugin)
    return loaded


def build_registry(
    selected: Iterable[EntryPoint] | None = None, *, builtins: bool = True, register_kinds: bool = True
) -> PluginRegistry:
    """Load plugins into a fresh pluggy manager and collect what they provide (not cached; see
    :func:`load_plugins`).

    Args:
        selected: Entry points to load; default all of the group ``nasgen``.
        builtins: Also load nasgen's built-in plugins when no entry point declares them (source checkout).
        register_kinds: Register the plugins' block kinds with the spec, cost and nn layers.

    Raises:
        PluginError: Two plugins provide the same transform, block kind or search space name, or a
            block kind clashes with a built-in kind or space.
    """
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(NasgenHookSpecs)
    failures: list[PluginFailure] = []
    loaded = _register(manager, _candidates(selected, builtins), failures)
    provided: dict[str, Provided] = {}
    for name, error in collect_provided(manager, provided):
        candidate = loaded.pop(name)[0]
        manager.unregister(name=name)
        _fail(failures, candidate, error)
    transforms, kinds, spaces = _merge(provided)
    apis = _merge_apis(provided, "apis", "plugin interface")
    evaluators = _merge_apis(provided, "evaluators", "evaluator")
    infos = tuple(
        PluginInfo(name, candidate.value, candidate.source, getattr(plugin, "__file__", None),
                   MappingProxyType(provided[name].summary()))
        for name, (candidate, plugin) in loaded.items()
    )
    registry = PluginRegistry(manager, infos, tuple(failures), MappingProxyType(transforms),
                              MappingProxyType(kinds), MappingProxyType(spaces), MappingProxyType(apis),
                              MappingProxyType(evaluators))
    if register_kinds:
        _register_block_kinds(registry)
    return registry


def _merge(provided: dict[str, Provided]) -> tuple[dict, dict, dict]:
    merged: tuple[dict, dict, dict] = ({}, {}, {})
    for plugin, items in provided.items():
        for what, target, source in zip(("transform", "block kind", "search space"), merged, items.tables()):
            for name, value in source.items():
                if name in target:
                    raise PluginError(f"{what} {name!r} is provided twice: by plugin {target[name][1]!r} "
                                      f"and by plugin {plugin!r}")
                target[name] = (value, plugin)
    _check_builtin_names(merged[1], merged[2])
    return merged


def _merge_apis(provided: dict[str, Provided], attribute: str, what: str) -> dict[str, tuple[Any, str]]:
    """One table (``apis`` or ``evaluators``) over every plugin; a name provided twice is refused."""
    merged: dict[str, tuple[Any, str]] = {}
    for plugin, items in provided.items():
        for name, value in getattr(items, attribute).items():
            if name in merged:
                raise PluginError(f"{what} {name!r} is provided twice: by plugin {merged[name][1]!r} "
                                  f"and by plugin {plugin!r}")
            merged[name] = (value, plugin)
    return merged


def _check_builtin_names(kinds: dict, spaces: dict) -> None:
    from nasgen.spec import BUILTIN_STAGE_KINDS

    for kind, (_, plugin) in kinds.items():
        if kind in BUILTIN_STAGE_KINDS:
            raise PluginError(f"block kind {kind!r} of plugin {plugin!r} is a built-in kind")
    if spaces:
        from nasgen.space import builtin_spaces

        for name in set(spaces) & set(builtin_spaces()):
            raise PluginError(f"search space {name!r} of plugin {spaces[name][1]!r} is a built-in space")


def _register_block_kinds(registry: PluginRegistry) -> None:
    # One registration per kind, in the spec layer; nn, cost, space and export read it from there.
    for block, plugin in registry.block_kinds.values():
        register_block_kind(block, owner=plugin)


_lock = threading.RLock()
_current: PluginRegistry | None = None
_loading = False


def load_plugins(force: bool = False) -> PluginRegistry:
    """Load every plugin of the entry-point group ``nasgen`` once and return the registry (cached).

    Args:
        force: Discard the cached registry and load again (e.g. after installing a plugin in-process).

    Raises:
        PluginError: Two plugins provide the same name.
    """
    global _current, _loading
    with _lock:
        if _loading:
            # a plugin validated a spec while plugins were loading: answer with what is known so far
            return _current or PluginRegistry(pluggy.PluginManager(PROJECT))
        if _current is not None and not force:
            return _current
        _loading = True
        try:
            registry = build_registry()
        finally:
            _loading = False
        if _current is not None:
            for kind in set(_current.block_kinds) - set(registry.block_kinds):
                unregister_stage_kind(kind)
        _current = registry
        return registry


def get_plugin_manager() -> pluggy.PluginManager:
    """The cached pluggy manager with every loaded plugin (loads them on first use)."""
    return load_plugins().manager
