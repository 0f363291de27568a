"""Export round trips across devices: TorchScript and ONNX traced on the GPU give the CPU's logits, and the files
``nasgen export`` writes on the CPU run on the GPU with the same logits.

CPU side: tests/exporting/ (every format's round trip against eager evaluation on the CPU).
"""

from __future__ import annotations

import inspect
import warnings

import pytest
import torch
from cuda_only import GPU_ONLY, assert_logits_close, exact_float32

import nasgen
from nasgen.nn import build_model
from nasgen.spec import load_spec

pytestmark = GPU_ONLY

#: B0's architecture at 64 px with 10 classes: every block kind and SE of the real network, small inputs.
SPEC = load_spec("efficientnet-b0").replace(resolution_px=64, num_classes=10)


def _model_and_input():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build_model(SPEC).eval()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return model, x, model(x)


def test_torchscript_traced_on_the_gpu_gives_the_cpu_logits(tmp_path):
    model, x, cpu_logits = _model_and_input()
    with exact_float32(), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript's deprecation notice
        traced = torch.jit.trace(model.cuda(), x.cuda())
        assert_logits_close(traced(x.cuda()), cpu_logits)
        torch.jit.save(traced, str(tmp_path / "model.ts"))
        on_cpu = torch.jit.load(str(tmp_path / "model.ts"), map_location="cpu")
    with torch.no_grad():
        assert_logits_close(on_cpu(x), cpu_logits, rtol=1e-5)


def test_onnx_exported_from_the_gpu_gives_the_cpu_logits(tmp_path):
    pytest.importorskip("onnx", reason="the onnx extra is not installed: pip install 'nasgen[onnx]'")
    onnxruntime = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed: pip install 'nasgen[onnx]'")
    model, x, cpu_logits = _model_and_input()
    path = tmp_path / "model.onnx"
    kwargs = {"input_names": ["images"], "output_names": ["logits"], "dynamic_axes": {"images": {0: "batch"}}}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the exporter nasgen uses (nasgen/exporting/_formats.py)
    with exact_float32(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.cuda(), (x.cuda(),), str(path), **kwargs)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"images": x.numpy()})
    assert_logits_close(torch.from_numpy(logits), cpu_logits, rtol=1e-4)


def test_files_exported_on_the_cpu_run_on_the_gpu(tmp_path):
    out = tmp_path / "export"
    nasgen.export(SPEC, out, formats="arch,code,torchscript")
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    loaded = nasgen.load(out)  # arch.yaml, built in eval mode (no weights exported: its own initial weights)
    with exact_float32(), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_cpu = torch.jit.load(str(out / "model.ts"), map_location="cpu")
        on_gpu = torch.jit.load(str(out / "model.ts"), map_location="cuda")
        assert_logits_close(on_gpu(x.cuda()), on_cpu(x))
        cpu_logits = loaded(x)
        assert_logits_close(loaded.cuda()(x.cuda()), cpu_logits)
