"""nasgen's plugin system: pluggy hook specifications and the loader of the entry-point group ``nasgen``.

Named apart from the top-level ``plugins/`` folder, which holds the plugins shipped with nasgen (the
compound-scaling plugin, import name ``nasgen_scaling``). A plugin implements any of the hooks of
:class:`NasgenHookSpecs` with :data:`hookimpl` and declares an entry point::

    [project.entry-points.nasgen]
    my_plugin = "my_package.plugin"

This package imports the spec layer only (never torch): a plugin's block kinds are registered as descriptors in
the spec layer, which nn, cost, space and export read.

Example:
    >>> from nasgen.hooks import load_plugins
    >>> registry = load_plugins()
    >>> spec = registry.apply_transform("scale", "efficientnet-b0", phi=1)
    >>> spec.resolution_px
    258
"""

from nasgen.hooks._manager import (
    BUILTIN_PLUGINS,
    PluginFailure,
    PluginInfo,
    PluginLoadWarning,
    PluginRegistry,
    build_registry,
    get_plugin_manager,
    load_plugins,
)
from nasgen.hooks._specs import PROJECT, BlockKind, NasgenHookSpecs, Transform, hookimpl, hookspec

__all__ = [
    "BUILTIN_PLUGINS",
    "PROJECT",
    "BlockKind",
    "NasgenHookSpecs",
    "PluginFailure",
    "PluginInfo",
    "PluginLoadWarning",
    "PluginRegistry",
    "Transform",
    "build_registry",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "load_plugins",
    "run_complete",
    "scale",
    "scale_family",
    "scale_preset",
    "trial_end",
    "trial_start",
]


def trial_start(trial_number: int, spec: object) -> None:
    """Call every plugin's ``nasgen_trial_start(trial_number, spec)`` (what the search calls).

    Raises:
        PluginError: A hook raised; the message names the plugin.
    """
    load_plugins().trial_start(trial_number, spec)


def trial_end(trial_number: int, spec: object, result: object) -> None:
    """Call every plugin's ``nasgen_trial_end(trial_number, spec, result)`` (what the search calls).

    Raises:
        PluginError: A hook raised; the message names the plugin.
    """
    load_plugins().trial_end(trial_number, spec, result)


def run_complete(run: object, out: object = None, console: object = None) -> None:
    """Call every plugin's ``nasgen_run_complete(run, out, console)``: what a search and a confirmation call once their
    outputs are written (the built-in report plugin writes ``report.html``).

    Raises:
        PluginError: A hook raised; the message names the plugin.
    """
    load_plugins().run_complete(run, out, console)


# The compound-scaling plugin's functions, reached through its ``nasgen_api`` hook (interface
# ``compound_scaling``), so that ``nasgen.scale`` and the search's ``--scale-phi`` never import the plugin.
_SCALING = ("scale", "scale_preset", "scale_family")


def __getattr__(name: str) -> object:
    if name in _SCALING:
        return getattr(load_plugins().api("compound_scaling"), name)
    raise AttributeError(f"module 'nasgen.hooks' has no attribute {name!r}")
