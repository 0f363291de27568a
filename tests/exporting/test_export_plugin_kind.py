"""An architecture with a plugin block kind (the third-party fixture plugin's ``res_conv``): no model.py can
be generated, the other formats are exported from ``build_model`` and still round-trip."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

import nasgen
from nasgen.errors import ExportError
from nasgen.exporting import export
from nasgen.hooks import load_plugins
from nasgen.spec import loads_spec

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")

FIXTURE_PLUGIN = Path(__file__).parents[1] / "fixtures" / "third_party_plugin"

ARCH = """\
name: tiny-res-conv
resolution_px: 32
stem: {out_channels: 16, kernel_size: 3, stride: 2}
stages:
- {kind: mbconv, num_layers: 1, kernel_size: 3, stride: 1, expand_ratio: 1, out_channels: 16, se_ratio: 0.25}
- {kind: res_conv, num_layers: 2, kernel_size: 3, stride: 2, expand_ratio: 1, out_channels: 32, options: {groups: 2}}
head_channels: 64
num_classes: 10
"""


@pytest.fixture
def res_conv(tmp_path, monkeypatch):
    """The fixture plugin installed (an entry point in a ``.dist-info``) for the duration of a test."""
    info = tmp_path / "nasgen_demo_plugin-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nasgen-demo-plugin\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[nasgen]\ndemo = nasgen_demo_plugin\n")
    monkeypatch.syspath_prepend(str(FIXTURE_PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    load_plugins(force=True)
    yield loads_spec(ARCH)
    monkeypatch.undo()
    importlib.invalidate_caches()
    load_plugins(force=True)


def test_plugin_kind_exports_without_code(res_conv, tmp_path):
    spec = res_conv
    with pytest.raises(ExportError, match=r"format code: stages\.1\.kind: .*plugin block kind 'res_conv'"):
        export(spec, tmp_path / "refused", formats="code")
    result = export(spec, tmp_path / "out")
    assert "code" not in result.files and "res_conv" in result.skipped["code"]
    assert set(result.files) == {"arch", "torchscript", "onnx", "manifest"}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["architecture"]["timm"]["arch_def"][1] == ["res_conv_r2_k3_s2_e1_c32_groups2"]
    assert manifest["architecture"]["timm"]["exact"] is False
    assert (
        "stages.1: the plugin block kind 'res_conv' has no torchvision equivalent"
        in (manifest["architecture"]["torchvision"]["notes"])
    )
    scripted = torch.jit.load(str(tmp_path / "out" / "model.ts"))
    eager = nasgen.build_model(spec).eval()
    eager.load_state_dict(scripted.state_dict())
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    session = onnxruntime.InferenceSession(str(tmp_path / "out" / "model.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = eager(x)
        torch.testing.assert_close(scripted(x), expected, atol=1e-5, rtol=0)
    (logits,) = session.run(["logits"], {"images": x.numpy()})
    assert np.abs(logits - expected.numpy()).max() <= 1e-4 * float(expected.abs().max())
