"""A stdlib-only callback slot through which lower layers ask for the installed plugins to be loaded.

The spec layer must scan the plugin entry points when a YAML file names a kind nobody registered yet, but
it may not import the plugin manager (``nasgen.hooks`` sits above it). ``nasgen/__init__.py`` — which
Python always runs before any ``nasgen.*`` module — installs the loader here; the spec layer calls
:func:`discover_plugins`. Nothing here imports any other nasgen module.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["discover_plugins", "set_plugin_loader"]

_loader: Callable[[], object] | None = None


def set_plugin_loader(loader: Callable[[], object]) -> None:
    """Install the function that loads every installed plugin (``nasgen.hooks.load_plugins``)."""
    global _loader
    _loader = loader


def discover_plugins() -> None:
    """Load the installed plugins through the installed loader; nothing when none is installed."""
    if _loader is not None:
        _loader()
