"""The export formats: one writer per format, in a registry keyed by format name.

Every writer gets the shared :class:`ExportContext` and the path to write, and returns the result of
its round-trip check (or ``None``). TorchScript and ONNX are produced from the generated ``model.py``
module with the exported state dict loaded, and checked against eager :func:`nasgen.nn.build_model`.
"""

from __future__ import annotations

import importlib.util
import inspect
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nasgen.errors import ExportError
from nasgen.exporting._codegen import code_unsupported, import_model_code, render_model_code
from nasgen.exporting._source import ExportSource
from nasgen.exporting._weights import load_weights_into, read_state_dict, save_state_dict
from nasgen.spec import ArchSpec, save_spec

__all__ = ["FORMATS", "ONNX_HINT", "ExportContext", "Format", "onnx_available"]

ONNX_HINT = "pip install 'nasgen[onnx]'"

# atol / rtol of the export-time checks against eager eval (the ONNX tolerance is atol 1e-4).
_TOLERANCE = {"torchscript": (1e-5, 1e-5), "onnx": (1e-4, 1e-4)}


def onnx_available() -> bool:
    """Whether the ``onnx`` package of the ``nasgen[onnx]`` extra is importable."""
    return importlib.util.find_spec("onnx") is not None


@dataclass
class ExportContext:
    """What the writers share: the spec, its source, and lazily built models.

    Attributes:
        spec: The architecture being exported.
        source: Where it came from (weights path, study, trial).
        out_dir: The output directory.
        seed: Seed of the initial weights when the source has no trained ones, and of the check input.
        code_path: Where ``model.py`` was written (the output directory, or a scratch directory when
            the ``code`` format is not exported but TorchScript or ONNX needs the module).
    """

    spec: ArchSpec
    source: ExportSource
    out_dir: Path
    seed: int = 0
    code_path: Path | None = None
    _reference: nn.Module | None = None
    _generated: nn.Module | None = None
    _scratch: list[str] = field(default_factory=list)

    @property
    def trained(self) -> bool:
        return self.source.weights_path is not None

    def reference(self) -> nn.Module:
        """``build_model(spec)`` in eval mode with the source's weights (or seeded initial weights)."""
        if self._reference is None:
            from nasgen.nn import build_model

            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                model = build_model(self.spec)
            if self.source.weights_path is not None:
                state = read_state_dict(self.source.weights_path)
                load_weights_into(model, state, where=str(self.source.weights_path))
            self._reference = model.eval()
        return self._reference

    def generated(self) -> nn.Module:
        """The ``EfficientNet`` of the generated ``model.py`` with the reference state dict, in eval mode."""
        if self._generated is None:
            if self.code_path is None:
                scratch = tempfile.mkdtemp(prefix="nasgen-export-")
                self._scratch.append(scratch)
                self.code_path = Path(scratch) / "model.py"
                self.code_path.write_text(render_model_code(self.spec, self.source), encoding="utf-8")
            module = import_model_code(self.code_path, f"nasgen_model_{self.spec.short_hash()}")
            model = module.build(self.spec.num_classes)
            load_weights_into(model, self.reference().state_dict(), where=str(self.code_path))
            self._generated = model.eval()
        return self._generated

    def deployable(self) -> nn.Module:
        """The module TorchScript and ONNX are made from: the generated one, or ``build_model``'s when no
        code can be generated (plugin block kinds)."""
        return self.reference() if code_unsupported(self.spec) else self.generated()

    def example(self, batch: int) -> torch.Tensor:
        """A seeded input ``(batch, in_channels, resolution_px, resolution_px)`` in float32."""
        generator = torch.Generator().manual_seed(self.seed)
        size = self.spec.resolution_px
        return torch.randn(batch, self.spec.in_channels, size, size, generator=generator)

    def expected(self, x: torch.Tensor) -> torch.Tensor:
        """Eager eval output of the reference model on ``x``."""
        with torch.no_grad():
            return self.reference()(x)

    def close(self) -> None:
        """Remove scratch files."""
        for folder in self._scratch:
            shutil.rmtree(folder, ignore_errors=True)
        self._scratch.clear()


def _compare(name: str, actual: torch.Tensor, expected: torch.Tensor, batch: int) -> dict[str, Any]:
    """Elementwise ``|actual - expected| <= atol + rtol·|expected|`` and, because an untrained network
    in eval mode shrinks its logits towards 0 (which would make any absolute test pass), also
    ``max |diff| <= rtol · max |expected|``."""
    atol, rtol = _TOLERANCE[name]
    diff = (actual - expected).abs()
    scale = float(expected.abs().max())
    max_diff = float(diff.max())
    result = {
        "batch": batch,
        "max_abs_diff": max_diff,
        "max_abs_expected": scale,
        "relative_diff": max_diff / scale if scale > 0 else max_diff,
        "atol": atol,
        "rtol": rtol,
    }
    if not bool((diff <= atol + rtol * expected.abs()).all()) or result["relative_diff"] > rtol:
        raise ExportError(
            f"{name} check failed: outputs differ from eager eval by up to {max_diff:.3g} "
            f"(largest output {scale:.3g}; allowed {atol:g} + {rtol:g}·|expected|)"
        )
    return result


def _write_arch(ctx: ExportContext, path: Path) -> None:
    save_spec(ctx.spec, path)


def _write_code(ctx: ExportContext, path: Path) -> None:
    path.write_text(render_model_code(ctx.spec, ctx.source), encoding="utf-8")
    ctx.code_path = path


def _write_weights(ctx: ExportContext, path: Path) -> None:
    import nasgen

    metadata = {
        "format": "pt",
        "nasgen_version": nasgen.__version__,
        "arch_hash": ctx.spec.content_hash(),
        "source": ctx.source.describe(),
    }
    if ctx.source.data_config is not None:
        metadata.update(ctx.source.data_config.metadata())
    save_state_dict(ctx.reference(), path, metadata)


def _write_torchscript(ctx: ExportContext, path: Path) -> dict[str, Any]:
    with warnings.catch_warnings():
        # torch >= 2.10 marks TorchScript deprecated; it is still the format that loads without Python code.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(ctx.deployable())
        torch.jit.save(scripted, str(path))
        loaded = torch.jit.load(str(path), map_location="cpu")
    x = ctx.example(2)
    with torch.no_grad():
        actual = loaded(x)
    return _compare("torchscript", actual, ctx.expected(x), batch=2)


def _onnx_export(model: nn.Module, x: torch.Tensor, path: Path) -> None:
    kwargs: dict[str, Any] = {
        "input_names": ["images"],
        "output_names": ["logits"],
        "dynamic_axes": {"images": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch"}},
    }
    # The TorchScript-based exporter needs no extra package; torch's default dynamo exporter needs
    # onnxscript and was ~14x slower on B0 (see docs/internals.md, export).
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(model, (x,), str(path), **kwargs)


def _write_onnx(ctx: ExportContext, path: Path) -> dict[str, Any]:
    if not onnx_available():
        raise ExportError(f"ONNX export needs the onnx extra: {ONNX_HINT}")
    import onnx

    _onnx_export(ctx.deployable(), ctx.example(1), path)
    model_proto = onnx.load(str(path))
    onnx.checker.check_model(model_proto)
    opset = max((entry.version for entry in model_proto.opset_import if entry.domain in ("", "ai.onnx")), default=None)
    if importlib.util.find_spec("onnxruntime") is None:
        return {"opset": opset, "onnxruntime": f"not installed, numeric check skipped ({ONNX_HINT})"}
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = ctx.example(2)
    (actual,) = session.run(["logits"], {"images": x.numpy()})
    result = _compare("onnx", torch.from_numpy(actual), ctx.expected(x), batch=2)
    result.update(opset=opset, onnxruntime=onnxruntime.__version__)
    return result


@dataclass(frozen=True)
class Format:
    """One export format: its file name, its writer (``None`` for the manifest, which the exporter writes
    last from the records of the others) and whether it needs trained weights or an optional extra."""

    name: str
    file_name: str
    writer: Callable[[ExportContext, Path], dict[str, Any] | None] | None
    description: str
    needs_weights: bool = False
    extra: str | None = None


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("arch", "arch.yaml", _write_arch, "the architecture spec (YAML)"),
        Format("code", "model.py", _write_code, "standalone PyTorch source"),
        Format("weights", "weights.safetensors", _write_weights, "trained state dict", needs_weights=True),
        Format("torchscript", "model.ts", _write_torchscript, "TorchScript (torch.jit.load)"),
        Format("onnx", "model.onnx", _write_onnx, "ONNX, checked with onnxruntime", extra="onnx"),
        Format("manifest", "manifest.json", None, "cost, provenance, interop, file hashes"),
    )
}
"""Format name → :class:`Format`, in writing order (the manifest last: it lists the others)."""
