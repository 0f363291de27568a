"""A third-party plugin package (tests/fixtures/third_party_plugin) found by its own entry point and used:
its transform applies, and a spec with its block kind validates, builds and costs exactly as thop measures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nasgen.errors import SpecError
from nasgen.hooks import PluginRegistry
from nasgen.spec import CustomStageSpec, load_spec, loads_spec, registered_stage_kinds

from plugin_fixtures import FIXTURE_PLUGIN, write_dist_info

# B0's first two stages, then a res_conv stage (stride 2, then three residual blocks) and B0's last stage
_ARCH = """\
name: tiny-res-conv
in_channels: 3
resolution_px: 64
stem: {out_channels: 16, kernel_size: 3, stride: 2}
stages:
- {kind: mbconv, num_layers: 1, kernel_size: 3, stride: 1, expand_ratio: 1, out_channels: 16, se_ratio: 0.25}
- {kind: res_conv, num_layers: 4, kernel_size: 3, stride: 2, expand_ratio: 1, out_channels: 32,
   options: {groups: GROUPS}}
- {kind: mbconv, num_layers: 2, kernel_size: 5, stride: 2, expand_ratio: 6, out_channels: 48, se_ratio: 0.25}
head_channels: 128
num_classes: 10
"""


def _arch(groups: object = 2) -> str:
    return _ARCH.replace("GROUPS", str(groups))


def test_plugin_is_listed_with_its_distribution(demo_plugin: PluginRegistry) -> None:
    info = {p.name: p for p in demo_plugin.plugins}["demo"]
    assert info.source == "nasgen-demo-plugin 0.1.0"
    assert info.module == "nasgen_demo_plugin"
    assert Path(info.path).parent == FIXTURE_PLUGIN / "nasgen_demo_plugin"
    assert info.provides["transforms"] == ("widen_head",)
    assert info.provides["block_kinds"] == ("res_conv",)
    assert demo_plugin.block_kinds["res_conv"][1] == "demo"
    assert registered_stage_kinds() == {"res_conv": "demo"}
    assert "compound_scaling" in {p.name for p in demo_plugin.plugins}  # the built-in still loads


def test_transform_applies_and_is_pure(demo_plugin: PluginRegistry) -> None:
    b0 = load_spec("efficientnet-b0")
    before = b0.model_dump()
    wide = demo_plugin.apply_transform("widen_head", b0, factor=3)
    assert wide.head_channels == 3840
    assert b0.model_dump() == before and b0.head_channels == 1280
    with pytest.raises(SpecError, match=r"factor: must be a positive integer, got 0"):
        demo_plugin.apply_transform("widen_head", b0, factor=0)


def test_block_kind_validates_builds_and_costs_like_thop(demo_plugin: PluginRegistry) -> None:
    torch = pytest.importorskip("torch")
    from nasgen.cost import count_cost, measure_cost
    from nasgen.nn import build_model

    spec = loads_spec(_arch(), file="tiny.yaml")
    stage = spec.stages[1]
    assert isinstance(stage, CustomStageSpec)
    assert stage.options == {"groups": 2}
    assert stage.display() == "res_conv_r4_k3_s2_e1_c32_groups2"
    model = build_model(spec).eval()
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 10)
    assert [name for name, _ in model.named_parameters() if name.startswith("stages.1.0.")] == [
        "stages.1.0.conv.conv.weight", "stages.1.0.conv.bn.weight", "stages.1.0.conv.bn.bias"
    ]
    analytic, measured = count_cost(spec), measure_cost(model)
    assert (analytic.macs, analytic.params) == (measured.macs, measured.params)
    assert analytic.params == sum(p.numel() for p in model.parameters())
    # the res_conv stage alone: first block 16→32 at 32→16 px, then 3 residual 32→32 blocks at 16 px
    conv_macs = 32 * (16 // 2) * 9 * 16 * 16 + 3 * (32 * (32 // 2) * 9 * 16 * 16)
    assert analytic.stages[1].macs == conv_macs


def test_block_kind_options_are_validated(demo_plugin: PluginRegistry) -> None:
    with pytest.raises(SpecError) as info:
        loads_spec(_arch(0), file="tiny.yaml")
    assert info.value.path == "stages.1.options"
    assert "groups: Input should be greater than or equal to 1, got 0" in str(info.value)
    assert str(info.value).startswith("tiny.yaml, line ")
    with pytest.raises(SpecError, match=r"stages\.1\.options: width: Extra inputs are not permitted"):
        loads_spec(_arch("2, width: 3"), file="tiny.yaml")


def test_scaling_a_plugin_kind(demo_plugin: PluginRegistry) -> None:
    from nasgen_scaling import scale

    spec = loads_spec(_arch())
    scaled = scale(spec, 2)
    stage = scaled.stages[1]
    assert (stage.kind, stage.num_layers, stage.out_channels, stage.options) == ("res_conv", 6, 40, {"groups": 2})


def test_unknown_kind_without_the_plugin() -> None:
    with pytest.raises(SpecError) as info:
        loads_spec(_arch(), file="tiny.yaml")
    assert info.value.path == "stages.1.kind"
    assert "must be one of 'mbconv', 'fused_mbconv', got 'res_conv'" in str(info.value)
    assert info.value.line == _arch().splitlines().index(
        next(line for line in _arch().splitlines() if "res_conv" in line)) + 1


def test_cli_lists_the_plugin(demo_plugin: PluginRegistry) -> None:
    from nasgen.cli import app

    result = CliRunner().invoke(app, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "demo  (nasgen_demo_plugin, from nasgen-demo-plugin 0.1.0" in result.output
    assert "block kinds: res_conv (k×k conv-BN-act with a residual add)" in result.output
    assert "transforms: widen_head" in result.output


def _child_env(*paths: Path) -> dict[str, str]:
    repo = Path(__file__).parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in paths), str(repo), env.get("PYTHONPATH", "")])
    return env


def test_yaml_with_plugin_kind_loads_without_any_setup(tmp_path: Path) -> None:
    # A fresh interpreter that never called load_plugins: validating the unknown kind discovers the plugin.
    write_dist_info(tmp_path, "nasgen-demo-plugin", "0.1.0", {"demo": "nasgen_demo_plugin"})
    (tmp_path / "tiny.yaml").write_text(_arch(), encoding="utf-8")
    code = "from nasgen.spec import load_spec; print(load_spec('tiny.yaml').stages[1].display())"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_child_env(tmp_path, FIXTURE_PLUGIN),
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "res_conv_r4_k3_s2_e1_c32_groups2"


@pytest.mark.slow
def test_pip_installed_plugin(tmp_path: Path) -> None:
    """Really build and install the package (into a target folder, not the environment) and run the CLI."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(FIXTURE_PLUGIN)],
        check=True, capture_output=True, text=True,
    )
    assert list(target.glob("nasgen_demo_plugin-0.1.0.dist-info/entry_points.txt"))
    code = "from nasgen.cli import main; main()"
    out = subprocess.run([sys.executable, "-c", code, "plugins"], cwd=tmp_path, env=_child_env(target),
                         capture_output=True, text=True, check=True)
    assert "demo  (nasgen_demo_plugin, from nasgen-demo-plugin 0.1.0" in out.stdout
    assert "block kinds: res_conv" in out.stdout


def test_plugin_search_space_is_searchable(demo_plugin: PluginRegistry, tmp_path: Path) -> None:
    import optuna

    from nasgen.search import search

    assert "demo-tiny" in demo_plugin.search_spaces
    space = demo_plugin.search_space("demo-tiny")
    assert space.size() == 2 * 2 * (1 + 2 * 2)  # resolution x kernel x (removed + layers x expand)
    result = search(
        "100M",
        space="demo-tiny",
        objective=lambda spec: float(spec.num_blocks),
        n_trials=6,
        seed=0,
        timeout=None,
        storage=optuna.storages.InMemoryStorage(),
        study_name="demo",
        out=tmp_path / "run",
    )
    assert space.contains(result.best_spec)
    assert result.best_value == 3.0  # the deepest architecture: 1 + 2 blocks


def test_cli_lists_the_plugin_search_space(demo_plugin: PluginRegistry) -> None:
    from typer.testing import CliRunner

    from nasgen.cli import app

    result = CliRunner().invoke(app, ["spaces"])
    assert result.exit_code == 0, result.output
    assert "demo-tiny" in result.output and "efficientnet-v1" in result.output
