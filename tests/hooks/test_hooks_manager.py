"""The plugin loader: entry points load one by one, failures are isolated and named, duplicates are errors."""

from __future__ import annotations

import itertools
import sys
import textwrap
from collections.abc import Callable
from importlib.metadata import EntryPoint
from pathlib import Path

import pluggy
import pytest

from nasgen.errors import PluginError
from nasgen.hooks import (
    PluginLoadWarning,
    PluginRegistry,
    build_registry,
    get_plugin_manager,
    load_plugins,
    trial_end,
    trial_start,
)
from nasgen.spec import load_spec

_counter = itertools.count()

_HEADER = "from nasgen.hooks import BlockKind, hookimpl\n"

_TRANSFORM = """
@hookimpl
def nasgen_transforms():
    return {{"{name}": lambda spec, **options: spec.replace(head_channels={head})}}
"""

_KIND = """
@hookimpl
def nasgen_block_kinds():
    return [BlockKind(kind="{kind}", builder=lambda *a, **k: None, cost_rule=lambda trace, stage, stride: None)]
"""


@pytest.fixture
def make_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., EntryPoint]:
    """Write a plugin module into ``tmp_path`` and return an entry point (group ``nasgen``) naming it."""
    monkeypatch.syspath_prepend(str(tmp_path))
    created: list[str] = []

    def make(name: str, body: str) -> EntryPoint:
        module = f"nasgen_test_plugin_{next(_counter)}"
        (tmp_path / f"{module}.py").write_text(_HEADER + textwrap.dedent(body), encoding="utf-8")
        created.append(module)
        return EntryPoint(name=name, value=module, group="nasgen")

    yield make
    for module in created:
        sys.modules.pop(module, None)


def _registry(*entries: EntryPoint) -> PluginRegistry:
    return build_registry(entries, builtins=False, register_kinds=False)


def test_plugins_load_and_provide(make_plugin) -> None:
    registry = _registry(
        make_plugin("one", _TRANSFORM.format(name="head_64", head=64)),
        make_plugin("two", _KIND.format(kind="demo_kind")),
    )
    assert [p.name for p in registry.plugins] == ["one", "two"]
    assert registry.plugins[0].source == "in-process"
    assert registry.plugins[0].provides["transforms"] == ("head_64",)
    assert registry.plugins[1].provides["block_kinds"] == ("demo_kind",)
    assert registry.failures == ()
    spec = load_spec("efficientnet-b0")
    assert registry.apply_transform("head_64", spec).head_channels == 64
    assert spec.head_channels == 1280


def test_failing_import_is_reported_by_name_and_others_load(make_plugin) -> None:
    good = make_plugin("good", _TRANSFORM.format(name="head_32", head=32))
    broken = make_plugin("broken", "raise ImportError('needs the missing package foo')\n")
    missing = EntryPoint(name="ghost", value="nasgen_no_such_module_xyz", group="nasgen")
    with pytest.warns(PluginLoadWarning) as caught:
        registry = _registry(broken, good, missing)
    assert [p.name for p in registry.plugins] == ["good"]
    assert "head_32" in registry.transforms
    failures = {f.name: f for f in registry.failures}
    assert set(failures) == {"broken", "ghost"}
    assert failures["broken"].error == "ImportError: needs the missing package foo"
    assert failures["broken"].message.startswith(f"plugin 'broken' ({broken.value}, from in-process) failed to load")
    assert "No module named 'nasgen_no_such_module_xyz'" in failures["ghost"].error
    assert {str(w.message) for w in caught} == {f.message for f in failures.values()}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("@hookimpl\ndef nasgen_transforms():\n    return ['not', 'a', 'dict']\n",
         "nasgen_transforms hook must return a dict, got list"),
        ("@hookimpl\ndef nasgen_transforms():\n    return {'t': 3}\n", "transform 't' is not callable: 3"),
        ("@hookimpl\ndef nasgen_block_kinds():\n    return [('k', None)]\n", "not a nasgen.hooks.BlockKind"),
        ("@hookimpl\ndef nasgen_search_spaces():\n    return {'s': 3}\n", "must be a YAML path or a SearchSpace"),
        ("@hookimpl\ndef nasgen_transforms():\n    raise RuntimeError('boom')\n", "RuntimeError: boom"),
        ("@hookimpl\ndef nasgen_transfroms():\n    return {}\n", "nasgen_transfroms"),
        ("@hookimpl\ndef nasgen_trial_end(trial_number, spec, result, extra):\n    pass\n", "extra"),
    ],
)
def test_malformed_plugin_is_left_out(make_plugin, body: str, error: str) -> None:
    good = make_plugin("good", _TRANSFORM.format(name="head_16", head=16))
    bad = make_plugin("bad", body)
    with pytest.warns(PluginLoadWarning, match="plugin 'bad'"):
        registry = _registry(bad, good)
    assert [p.name for p in registry.plugins] == ["good"]
    assert [f.name for f in registry.failures] == ["bad"]
    assert error in registry.failures[0].error
    assert not registry.manager.has_plugin("bad")


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (_TRANSFORM.format(name="twin", head=8), _TRANSFORM.format(name="twin", head=16),
         "transform 'twin' is provided twice: by plugin 'alpha' and by plugin 'beta'"),
        (_KIND.format(kind="twin_kind"), _KIND.format(kind="twin_kind"),
         "block kind 'twin_kind' is provided twice: by plugin 'alpha' and by plugin 'beta'"),
        ("@hookimpl\ndef nasgen_search_spaces():\n    return {'twin': 'a.yaml'}\n",
         "@hookimpl\ndef nasgen_search_spaces():\n    return {'twin': 'b.yaml'}\n",
         "search space 'twin' is provided twice: by plugin 'alpha' and by plugin 'beta'"),
    ],
)
def test_duplicate_names_are_an_error(make_plugin, first: str, second: str, message: str) -> None:
    with pytest.raises(PluginError, match=message):
        _registry(make_plugin("alpha", first), make_plugin("beta", second))


def test_names_clashing_with_builtins(make_plugin) -> None:
    with pytest.raises(PluginError, match="block kind 'mbconv' of plugin 'clash' is a built-in kind"):
        _registry(make_plugin("clash", _KIND.format(kind="mbconv")))
    space = "@hookimpl\ndef nasgen_search_spaces():\n    return {'efficientnet-v1': 'x.yaml'}\n"
    with pytest.raises(PluginError, match="search space 'efficientnet-v1' of plugin 'clash2' is a built-in space"):
        _registry(make_plugin("clash2", space))


def test_unknown_transform_names_the_loaded_ones(make_plugin) -> None:
    registry = _registry(make_plugin("one", _TRANSFORM.format(name="head_64", head=64)))
    with pytest.raises(PluginError, match="unknown transform 'scale'; loaded transforms: head_64"):
        registry.transform("scale")
    bad = make_plugin("two", "@hookimpl\ndef nasgen_transforms():\n    return {'nothing': lambda spec: 3}\n")
    with pytest.raises(PluginError, match="transform 'nothing' of plugin 'two' returned int, not ArchSpec"):
        _registry(bad).apply_transform("nothing", load_spec("efficientnet-b0"))


def test_search_space_from_a_plugin(make_plugin) -> None:
    path = Path(__file__).parents[2] / "search_spaces" / "efficientnet-v1.yaml"
    body = f"@hookimpl\ndef nasgen_search_spaces():\n    return {{'my-space': {str(path)!r}}}\n"
    registry = _registry(make_plugin("spaces", body))
    space = registry.search_space("my-space")
    assert space.size() > 1
    assert registry.search_spaces["my-space"][1] == "spaces"
    with pytest.raises(PluginError, match="unknown plugin search space 'other'; plugin spaces: my-space"):
        registry.search_space("other")


def test_search_callbacks_are_called_and_errors_name_the_plugin(make_plugin) -> None:
    body = """
    CALLS = []

    @hookimpl
    def nasgen_trial_start(trial_number, spec):
        CALLS.append(("start", trial_number, spec.name))

    @hookimpl
    def nasgen_trial_end(trial_number, result):
        CALLS.append(("end", trial_number, result["state"]))
    """
    entry = make_plugin("watcher", body)
    registry = _registry(entry)
    assert registry.plugins[0].provides["callbacks"] == ("trial_start", "trial_end")
    spec = load_spec("efficientnet-b0")
    registry.trial_start(3, spec)
    registry.trial_end(3, spec, {"state": "complete", "macs": 1, "params": 2, "val_top1": 0.5})
    assert sys.modules[entry.value].CALLS == [("start", 3, "efficientnet-b0"), ("end", 3, "complete")]
    failing = make_plugin("failing", "@hookimpl\ndef nasgen_trial_start(trial_number):\n    1 / 0\n")
    with pytest.raises(PluginError, match=r"plugin 'failing' failed in nasgen_trial_start \(trial 7\): "
                                          r"ZeroDivisionError"):
        _registry(failing).trial_start(7, spec)
    # the search skips parsing a trial's spec for trial_end when no plugin implements it
    assert registry.implements("nasgen_trial_end") and registry.implements("nasgen_trial_start")
    assert not _registry(failing).implements("nasgen_trial_end")


def test_load_plugins_is_cached_and_has_the_builtin() -> None:
    registry = load_plugins()
    assert load_plugins() is registry
    assert isinstance(get_plugin_manager(), pluggy.PluginManager)
    assert get_plugin_manager() is registry.manager
    builtin = {p.name: p for p in registry.plugins}["compound_scaling"]
    assert builtin.module == "nasgen_scaling.plugin"
    assert builtin.provides["transforms"] == ("scale", "scale_preset")
    assert registry.transforms["scale"][1] == "compound_scaling"
    assert registry.apply_transform("scale_preset", load_spec("efficientnet-b0"), preset="b3").resolution_px == 300
    reloaded = load_plugins(force=True)
    assert reloaded is not registry and load_plugins() is reloaded


def test_module_level_callbacks_without_plugins_are_no_ops() -> None:
    spec = load_spec("efficientnet-b0")
    trial_start(0, spec)
    trial_end(0, spec, {"state": "complete"})


def test_hooks_import_no_torch() -> None:
    import subprocess

    code = "import sys, nasgen.hooks; nasgen.hooks.load_plugins(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parents[2])
    assert out.stdout.strip() == "False"


_API = """
@hookimpl
def nasgen_api():
    return {{"{name}": {value}}}
"""


def test_plugin_interfaces_are_reached_through_the_hook(make_plugin) -> None:
    registry = _registry(make_plugin("one", _API.format(name="answers", value="{'x': 42}")))
    assert registry.api("answers") == {"x": 42} and registry.apis["answers"][1] == "one"
    with pytest.raises(PluginError, match="plugin interface 'nope' is not available"):
        registry.api("nope")
    with pytest.raises(PluginError, match="plugin interface 'answers' is provided twice: by plugin 'one' and by "
                                          "plugin 'two'"):
        _registry(make_plugin("one", _API.format(name="answers", value="1")),
                  make_plugin("two", _API.format(name="answers", value="2")))


def test_the_scaling_plugin_is_reached_through_its_interface() -> None:
    import nasgen
    import nasgen.hooks

    scaling = load_plugins().api("compound_scaling")
    assert load_plugins().apis["compound_scaling"][1] == "compound_scaling"
    assert nasgen.hooks.scale_family is scaling.scale_family and nasgen.scale is scaling.scale
    assert [s.name for s in nasgen.scale_family("efficientnet-b0", [1, 2])] == ["efficientnet-b0-phi1",
                                                                                "efficientnet-b0-phi2"]
    assert nasgen.scale_preset("efficientnet-b0", "b1").resolution_px == 240
