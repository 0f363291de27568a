"""The latency table on CUDA: the device key names the GPU, parts and networks are timed after
``torch.cuda.synchronize``, and that timing agrees with CUDA events.

CPU side: tests/cost/test_latency.py (the table, the key, a sync after every timed step, the CLI).
"""

from __future__ import annotations

import json
import statistics

import pytest
import torch
from cuda_only import GPU_ONLY
from typer.testing import CliRunner

from nasgen.cli import app
from nasgen.cost import device_key, parts_of, predict_latency
from nasgen.nn import latency_table, measure_latency
from nasgen.spec import save_spec, spec_from_dict

pytestmark = GPU_ONLY

TINY = {
    "name": "tiny",
    "in_channels": 1,
    "resolution_px": 32,
    "stem": {"out_channels": 8, "kernel_size": 3, "stride": 2},
    "stages": [
        {"kind": "mbconv", "num_layers": 2, "kernel_size": 3, "stride": 1, "expand_ratio": 2, "out_channels": 8},
        {"kind": "fused_mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 2,
         "out_channels": 16, "se_ratio": 0.25},
    ],
    "head_channels": 32,
    "num_classes": 10,
}


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NASGEN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_device_key_names_the_gpu():
    key = device_key("cuda")
    assert key["device"] == "cuda" and key["device_name"] == torch.cuda.get_device_name(0)
    assert device_key("cuda:0")["device"] == "cuda" and key != device_key("cpu")


def test_the_table_fills_and_predicts_on_cuda(cache):
    spec = spec_from_dict(TINY)
    table = latency_table("cuda")
    infer = predict_latency(spec, table)
    assert infer.measured_now == len({p.key for p in parts_of(spec)}) == 5
    assert table.path.parent == cache / "latency" and table.path.name.startswith("cuda-")
    assert all(ms > 0 for _, ms in infer.parts) and infer.total_ms == pytest.approx(infer.parts_ms)
    step = predict_latency(spec, table, mode="train", batch=8)
    assert step.measured_now == 5 and step.total_ms > 0
    assert latency_table("cuda").entries == table.entries  # cached on disk, found again
    assert measure_latency(spec, device="cuda") > 0 and measure_latency(spec, mode="train", batch=8, device="cuda") > 0


def test_synchronized_timing_agrees_with_cuda_events():
    """A GPU-bound module (a 3×3 convolution, 128 channels, 112 px, batch 32: ≈ 59 GMACs) timed by the table's
    wall clock around ``torch.cuda.synchronize`` and by CUDA events on the stream: the same time within 25 %."""
    from nasgen.cost import Part, time_module

    module = torch.nn.Conv2d(128, 128, 3, padding=1, bias=False)
    part = Part("conv", "", "block", 128, 112)
    table_ms = time_module(module, part, "infer", 32, {"device": "cuda", "channels_last": True}).ms
    x = torch.randn(32, 128, 112, 112, device="cuda").contiguous(memory_format=torch.channels_last)
    module = module.cuda().to(memory_format=torch.channels_last).eval()
    samples = []
    with torch.inference_mode():
        for i in range(25):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            module(x)
            end.record()
            torch.cuda.synchronize()
            if i >= 5:  # warm-up: cuDNN's algorithm choice, the allocator
                samples.append(start.elapsed_time(end))
    events_ms = statistics.median(samples)
    assert 0.8 <= table_ms / events_ms <= 1.25, (table_ms, events_ms)


def test_profile_latency_on_cuda_prints_the_gpu_and_both_times(tmp_path):
    path = tmp_path / "tiny.yaml"
    save_spec(spec_from_dict(TINY), path)
    result = CliRunner().invoke(app, ["profile", str(path), "--latency", "--device", "cuda", "--json",
                                      "--step-batch", "8"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["device"] == torch.cuda.get_device_name(0)
    for key in ("latency_predicted_ms", "latency_measured_ms", "step_time_predicted_ms", "step_time_measured_ms"):
        assert data[key] > 0
