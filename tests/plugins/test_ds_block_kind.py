"""Done-when of issue 12: a test plugin adds the depthwise-separable kind ``ds`` in one file with one
registration (tests/fixtures/ds_plugin/nasgen_ds_block.py), and build, cost (analytic = thop), space
sampling, export (model.py, TorchScript, ONNX) and ``nasgen.testing.check_block_kind`` all pass for it."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

import nasgen
from nasgen.cost import count_cost, measure_cost
from nasgen.errors import SpecError
from nasgen.exporting import export, import_model_code
from nasgen.hooks import load_plugins
from nasgen.nn import build_model
from nasgen.space import loads_space
from nasgen.spec import CustomStageSpec, block_kinds, loads_spec
from nasgen.testing import check_block_kind
from plugin_fixtures import write_dist_info

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")

DS_PLUGIN = Path(__file__).parents[1] / "fixtures" / "ds_plugin"

ARCH = """\
name: tiny-ds
resolution_px: 32
stem: {out_channels: 16, kernel_size: 3, stride: 2}
stages:
- {kind: ds, num_layers: 1, kernel_size: 3, stride: 1, expand_ratio: 1, out_channels: 16, se_ratio: 0.25}
- {kind: mbconv, num_layers: 2, kernel_size: 3, stride: 2, expand_ratio: 4, out_channels: 24}
- {kind: ds, num_layers: 2, kernel_size: 5, stride: 2, expand_ratio: 1, out_channels: 32}
head_channels: 64
num_classes: 10
"""

SPACE = """\
name: ds-or-mbconv
num_classes: 10
resolution_px: 32
stem: {out_channels: 16}
stages:
- {kind: [mbconv, ds], num_layers: [1, 2], kernel_size: [3, 5], stride: 1, expand_ratio: 1, out_channels: 16}
- {kind: [ds, mbconv], num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 1, out_channels: [24, 32]}
"""


@pytest.fixture
def ds_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The ds plugin installed (an entry point in a ``.dist-info``) for one test, then the plugins reloaded."""
    write_dist_info(tmp_path, "nasgen-ds-block", "0.1.0", {"ds": "nasgen_ds_block"})
    monkeypatch.syspath_prepend(str(DS_PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    load_plugins(force=True)
    yield
    monkeypatch.undo()
    importlib.invalidate_caches()
    load_plugins(force=True)
    assert "ds" not in block_kinds()


@pytest.mark.usefixtures("ds_kind")
def test_one_registration_reaches_every_layer() -> None:
    descriptor = block_kinds()["ds"]
    assert load_plugins().block_kinds["ds"] == (descriptor, "ds")
    assert descriptor.timm_prefix == "ds" and descriptor.source == ("nasgen_ds_block:DepthwiseSeparable",)
    assert "ds" in nasgen.nn.block_registry and "ds" in nasgen.cost.registered_cost_kinds()


@pytest.mark.usefixtures("ds_kind")
def test_build_and_cost_analytic_equals_thop() -> None:
    spec = loads_spec(ARCH)
    assert isinstance(spec.stages[0], CustomStageSpec) and spec.display()[0] == "ds_r1_k3_s1_e1_c16_se0.25"
    model = build_model(spec).eval()
    block = model.stages[0][0]
    assert [name for name, _ in block.named_children()] == ["conv_dw", "bn1", "act1", "se", "conv_pw", "bn2",
                                                            "drop_path"]
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    cost = count_cost(spec)
    # stage 0 at 16x16: dw 16*9*256 + SE (16*4 + 4*16) + pw 16*16*256 MACs; params 144+32+148+256+32
    assert (cost.stages[0].macs, cost.stages[0].params) == (36_864 + 128 + 65_536, 612)
    # stage 2: 24 -> 32 at 8x8 -> 4x4 (k5 dw + pw), then 32 -> 32 at 4x4
    assert cost.stages[2].macs == (24 * 25 + 24 * 32) * 16 + (32 * 25 + 32 * 32) * 16
    assert cost.stages[2].output_shape == (32, 4, 4)
    measured = measure_cost(model)
    assert (measured.macs, measured.params) == (cost.macs, cost.params)
    assert measured.params == sum(p.numel() for p in model.parameters())


@pytest.mark.usefixtures("ds_kind")
def test_expansion_is_refused_with_a_path() -> None:
    spec = loads_spec(ARCH.replace("expand_ratio: 1, out_channels: 32", "expand_ratio: 2, out_channels: 32"))
    with pytest.raises(SpecError, match="expand_ratio: a ds block has no expansion, got 2"):
        build_model(spec)


@pytest.mark.usefixtures("ds_kind")
def test_space_samples_and_bounds_ds_stages() -> None:
    space = loads_space(SPACE)
    assert space.dimensions()["stages.0.kind"].choices == ("mbconv", "ds")
    specs = [space.sample(seed) for seed in range(12)]
    kinds = {tuple(stage.kind for stage in spec.stages) for spec in specs}
    assert ("ds", "ds") in kinds and len(kinds) == 4
    assert all(space.contains(spec) for spec in specs)
    low, high = space.macs_range()
    assert all(low <= count_cost(spec).macs <= high for spec in specs)
    # ds and mbconv with expansion 1 have the same convs: the extremes differ only in widths and depth
    smallest, largest = space.macs_extremes()
    assert count_cost(smallest).macs == low and count_cost(largest).macs == high


@pytest.mark.usefixtures("ds_kind")
def test_export_code_torchscript_onnx(tmp_path: Path) -> None:
    spec = loads_spec(ARCH)
    result = export(spec, tmp_path / "out")
    assert "code" not in result.skipped and {"code", "torchscript", "onnx"} <= set(result.files)
    code = (tmp_path / "out" / "model.py").read_text()
    assert "class DepthwiseSeparable(nn.Module):" in code and "'ds': build_ds" in code
    assert "nasgen" not in "".join(line for line in code.splitlines() if line.startswith(("import", "from")))
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["architecture"]["timm"]["arch_def"][0] == ["ds_r1_k3_s1_e1_c16_se0.25"]
    eager = build_model(spec).eval()
    generated = import_model_code(tmp_path / "out" / "model.py").build().eval()
    generated.load_state_dict(eager.state_dict())
    scripted = torch.jit.load(str(tmp_path / "out" / "model.ts"))
    eager.load_state_dict(scripted.state_dict())
    generated.load_state_dict(scripted.state_dict())
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    session = onnxruntime.InferenceSession(str(tmp_path / "out" / "model.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = eager(x)
        torch.testing.assert_close(generated(x), expected, atol=1e-5, rtol=0)
        torch.testing.assert_close(scripted(x), expected, atol=1e-5, rtol=0)
    (logits,) = session.run(["logits"], {"images": x.numpy()})
    assert np.abs(logits - expected.numpy()).max() <= 1e-4 * float(expected.abs().max())


@pytest.mark.usefixtures("ds_kind")
def test_check_block_kind_passes_for_ds() -> None:
    report = check_block_kind("ds")
    assert report.kind == "ds" and len(report.cases) == 4
    assert all(case.code for case in report.cases)
    assert all(case.analytic_macs == case.measured_macs for case in report.cases)
    by_shape = {(case.stage["stride"], case.stage["se_ratio"]): case for case in report.cases}
    # 16 -> 16, k3: dw 144 + bn 32 + pw 256 + bn 32; SE 0.25 adds 16*4+4 + 4*16+16
    assert by_shape[1, 0.0].block_params == 464 and by_shape[1, 0.25].block_params == 612
    assert by_shape[2, 0.0].output_shape == (24, 8, 8)
    assert "nasgen_ds_block" in sys.modules
