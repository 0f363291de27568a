"""Shared set-up of the plugin tests: the built-in scaling plugin loaded through the plugin system, and the
third-party fixture plugin made discoverable by its own entry point."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nasgen.hooks import PluginRegistry, load_plugins
from plugin_fixtures import FIXTURE_PLUGIN, write_dist_info

# From a source checkout `nasgen_scaling` is importable once the plugin system has loaded it (an installed
# nasgen has it in site-packages); either way the tests use it through the same path as users.
load_plugins()


@pytest.fixture
def demo_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginRegistry]:
    """The fixture package on ``sys.path`` with an installed-style ``.dist-info``, and plugins reloaded.

    Afterwards the plugins are reloaded without it, so its stage kind is unknown again.
    """
    write_dist_info(tmp_path, "nasgen-demo-plugin", "0.1.0", {"demo": "nasgen_demo_plugin"})
    monkeypatch.syspath_prepend(str(FIXTURE_PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield load_plugins(force=True)
    monkeypatch.undo()
    importlib.invalidate_caches()
    load_plugins(force=True)
    assert "demo" not in [info.name for info in load_plugins().plugins]
    assert "nasgen_demo_plugin" in sys.modules  # kept: its builder stays registered with nn and cost
