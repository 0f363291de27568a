"""Every export format carries the exactness options (issue 28): model.py, TorchScript and ONNX of a network
with TensorFlow "SAME" padding, timm's SE rounding, ``residual: false``, ``expand_in_channels`` and
``always_project`` equal eager eval, at the export size and at an odd one (SAME pads by the size's parity)."""

from __future__ import annotations

import pytest
from export_helpers import write_training_dir
from test_export_formats import check_every_format

import nasgen
from nasgen.exporting import render_model_code, timm_view, torchvision_view
from nasgen.spec import spec_from_dict

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")


def options_spec(**changes):
    data = {
        "name": "options", "in_channels": 3, "resolution_px": 64, "stem": {"out_channels": 32},
        "stages": [
            {"kind": "fused_mbconv", "num_layers": 2, "kernel_size": 3, "stride": 1, "expand_ratio": 4,
             "out_channels": 24, "expand_in_channels": 24, "residual": False},
            {"kind": "fused_mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 1,
             "out_channels": 32, "always_project": True, "se_ratio": 0.25},
            {"kind": "mbconv", "num_layers": 2, "kernel_size": 5, "stride": 2, "expand_ratio": 6,
             "out_channels": 48, "se_ratio": 0.25},
        ],
        "head_channels": 64, "num_classes": 10, "padding": "same", "se_rounding": "round", "bn_eps": 1e-3,
    }  # fmt: skip
    data.update(changes)
    return spec_from_dict(data)


def test_every_format_carries_the_options(tmp_path):
    spec = options_spec()
    result = nasgen.export(write_training_dir(tmp_path / "train", spec), tmp_path / "out")
    manifest = check_every_format(tmp_path / "out", spec, trained=True, sizes=(64, 75))
    assert result.spec == spec
    timm = manifest["architecture"]["timm"]
    assert timm["arch_def"][0] == ["er_r2_k3_s1_e4_c24_fc24_noskip"] and timm["kwargs"]["pad_type"] == "same"
    assert manifest["architecture"]["display"][1] == "er_r2_k3_s2_e1_c32_se0.25_proj"


def test_model_code_holds_the_same_padding_conv_only_when_used():
    assert "class Conv2dSame" in render_model_code(options_spec())
    assert "class Conv2dSame" not in render_model_code(options_spec(padding="symmetric"))
    assert "BLOCK_OPTIONS: Dict[str, str] = {'padding': 'same', 'se_rounding': 'round'}" in render_model_code(
        options_spec()
    )
    assert "expand_in_channels=24, residual=False" not in render_model_code(options_spec())  # field order below
    assert "residual=False, expand_in_channels=24" in render_model_code(options_spec())


def test_interop_views_of_the_options():
    timm = timm_view(options_spec())
    assert timm["arch_def"] == [
        ["er_r2_k3_s1_e4_c24_fc24_noskip"], ["er_r2_k3_s2_e1_c32_se0.25"], ["ir_r2_k5_s2_e6_c48_se0.25"],
    ]  # fmt: skip
    assert timm["kwargs"]["pad_type"] == "same" and timm["exact"], timm["notes"]
    # floor rounding gives timm's widths here too: every block input is a multiple of 8
    assert timm_view(options_spec(se_rounding="floor"))["exact"]
    notes = torchvision_view(options_spec())["notes"]
    assert "torchvision pads every conv k//2 on each side; this network uses TensorFlow's SAME" in notes
    assert "stages.0: torchvision adds every residual the shapes allow; this stage has none" in notes
    assert "stages.0: torchvision expands from the block input, this stage from 24" in notes
    assert "stages.1: torchvision's FusedMBConv at expansion 1 is one conv; this stage also projects" in notes
