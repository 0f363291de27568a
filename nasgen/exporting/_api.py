"""``nasgen.export`` and ``nasgen.load``: get the found network out of a run, and back in."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasgen.errors import ExportError
from nasgen.exporting._source import ExportSource, resolve_source
from nasgen.spec import ArchSpec

if TYPE_CHECKING:
    from torch import nn

__all__ = ["FORMAT_NAMES", "ExportResult", "ExportedFile", "export", "load", "parse_formats"]

FORMAT_NAMES = ("arch", "code", "weights", "torchscript", "onnx", "manifest")
"""Export format names in writing order (the keys of ``_formats.FORMATS``, known without importing torch)."""
_FORMAT_NAMES = FORMAT_NAMES
_FILE_NAMES = ("arch.yaml", "model.py", "weights.safetensors", "model.ts", "model.onnx", "manifest.json")
_NEEDS_MODEL = ("weights", "torchscript", "onnx")


@dataclass(frozen=True)
class ExportedFile:
    """One written file: its format, path, size in bytes, SHA-256 and the seconds its export took."""

    format: str
    path: Path
    bytes: int
    sha256: str
    seconds: float


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export` wrote.

    Attributes:
        out_dir: The output directory.
        spec: The exported architecture.
        source: Where it came from (study, trial, score, weights).
        files: Format name → :class:`ExportedFile`, in writing order.
        skipped: Format name → why a default format was not written (no trained weights, no ONNX extra).
        checks: Format name → round-trip check against eager eval (``max_abs_diff``, ``atol`` …).
        setup_seconds: Seconds spent building the model(s) shared by the formats, before any of them.
    """

    out_dir: Path
    spec: ArchSpec
    source: ExportSource
    files: dict[str, ExportedFile]
    skipped: dict[str, str] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    setup_seconds: float = 0.0

    @property
    def paths(self) -> dict[str, Path]:
        """Format name → path written."""
        return {name: f.path for name, f in self.files.items()}

    @property
    def sizes(self) -> dict[str, int]:
        """Format name → file size in bytes."""
        return {name: f.bytes for name, f in self.files.items()}

    @property
    def seconds(self) -> dict[str, float]:
        """Format name → export time in seconds (including its round-trip check)."""
        return {name: f.seconds for name, f in self.files.items()}


def parse_formats(formats: str | list[str] | tuple[str, ...] | None) -> list[str] | None:
    """Normalise ``--format``: ``None`` (the defaults), ``"arch,code"`` or a list of names.

    Returns:
        The names in writing order without duplicates, or ``None`` for the defaults.

    Raises:
        ExportError: An unknown or empty format name, echoing it and listing the known ones.
    """
    if formats is None:
        return None
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    names = [str(item).strip().lower() for item in items]
    for name in names:
        if name not in _FORMAT_NAMES:
            raise ExportError(f"format: unknown format {name!r}; expected one of {', '.join(_FORMAT_NAMES)}")
    if not names:
        raise ExportError(f"format: no format given; expected one or more of {', '.join(_FORMAT_NAMES)}")
    return [name for name in _FORMAT_NAMES if name in names]


def _select(requested: list[str] | None, source: ExportSource) -> tuple[list[str], dict[str, str]]:
    from nasgen.exporting._codegen import code_unsupported
    from nasgen.exporting._formats import ONNX_HINT, onnx_available

    no_code = code_unsupported(source.spec)
    no_weights = f"{source.describe()} has no trained weights: {source.no_weights}"
    if requested is None:
        chosen, skipped = list(_FORMAT_NAMES), {}
        if source.weights_path is None:
            chosen.remove("weights")
            skipped["weights"] = no_weights
        if not onnx_available():
            chosen.remove("onnx")
            skipped["onnx"] = f"the onnx extra is not installed: {ONNX_HINT}"
        if no_code is not None:
            chosen.remove("code")
            skipped["code"] = no_code
        return chosen, skipped
    if "code" in requested and no_code is not None:
        raise ExportError(f"format code: {no_code}")
    if "weights" in requested and source.weights_path is None:
        raise ExportError(f"format weights: {no_weights}")
    if "onnx" in requested and not onnx_available():
        raise ExportError(f"format onnx needs the onnx extra, which is not installed: {ONNX_HINT}")
    return requested, {}


def _prepare_out_dir(out_dir: str | Path, *, force: bool, source: ExportSource) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"output {str(out)!r} is a file, not a directory")
    inputs = [source.weights_path] if source.weights_path is not None else []
    if source.kind in ("file", "directory"):
        location = Path(source.location)
        inputs.append(location / "arch.yaml" if location.is_dir() else location)
    for path in inputs:
        if out.exists() and path.resolve().parent == out.resolve() and path.name in _FILE_NAMES:
            raise ExportError(f"output directory {str(out)!r} holds the source {path.name}; choose another -o")
    if out.is_dir():
        present = sorted(entry.name for entry in out.iterdir())
        if present and not force:
            shown = ", ".join(present[:4]) + (", …" if len(present) > 4 else "")
            raise ExportError(
                f"output directory {str(out)!r} already holds files ({shown}); pass --force to replace an export"
            )
        for name in _FILE_NAMES:  # a stale model.onnx must not outlive a re-export without ONNX
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    return out


def export(
    source: str | Path | ArchSpec,
    out_dir: str | Path,
    *,
    trial: str | int = "best",
    formats: str | list[str] | tuple[str, ...] | None = None,
    force: bool = False,
    seed: int = 0,
) -> ExportResult:
    """Export an architecture (and its trained weights) as files others can use without nasgen.

    Writes, by format name: ``arch`` → ``arch.yaml``; ``code`` → ``model.py`` (standalone PyTorch);
    ``weights`` → ``weights.safetensors``; ``torchscript`` → ``model.ts``; ``onnx`` → ``model.onnx``
    (needs ``pip install 'nasgen[onnx]'``); ``manifest`` → ``manifest.json`` (params, MACs of Conv2d
    and Linear layers at batch 1 with FLOPs = 2 x MACs, resolution in px, hash, source study and trial,
    score, timm and torchvision notations, and each file's size in bytes and SHA-256). TorchScript and
    ONNX are checked against eager eval on a seeded ``(2, C, resolution_px, resolution_px)`` input.

    Args:
        source: A built-in name, an arch YAML/JSON file, an :class:`~nasgen.spec.ArchSpec`, a search run
            directory (``study.db``), or a training / export directory (``arch.yaml`` + weights).
        out_dir: Output directory; created if missing, must be empty unless ``force``.
        trial: ``"best"`` or a trial number (run directories only).
        formats: Subset of format names (list or comma-separated); default: all, less ``weights`` when
            there are no trained weights and ``onnx`` when its extra is missing.
        force: Replace an earlier export in ``out_dir`` (its known files are removed first).
        seed: Seed of the initial weights when there are no trained ones, and of the check input.

    Returns:
        The :class:`ExportResult` with paths, sizes in bytes, seconds and checks.

    Raises:
        ExportError: Unknown format, output directory not empty without ``force``, a run without a
            completed trial, an unknown trial, ``weights`` asked without trained weights, ``onnx`` asked
            without its extra, weights that do not fit, or a failed round-trip check.
        SpecError: The architecture is invalid or the name unknown.

    Example:
        >>> import nasgen
        >>> result = nasgen.export("efficientnet-b0", "out/b0", formats="arch,code,manifest")
        >>> sorted(result.paths)
        ['arch', 'code', 'manifest']
    """
    requested = parse_formats(formats)
    resolved = resolve_source(source, trial=trial)
    chosen, skipped = _select(requested, resolved)
    out = _prepare_out_dir(out_dir, force=force, source=resolved)
    from nasgen.exporting._formats import FORMATS, ExportContext

    ctx = ExportContext(resolved.spec, resolved, out, seed=seed)
    files: dict[str, ExportedFile] = {}
    checks: dict[str, dict[str, Any]] = {}
    try:
        start = time.perf_counter()
        if any(name in chosen for name in _NEEDS_MODEL):
            ctx.reference()
        setup_seconds = time.perf_counter() - start
        for name in chosen:
            fmt = FORMATS[name]
            if fmt.writer is None:
                continue
            start = time.perf_counter()
            check = fmt.writer(ctx, out / fmt.file_name)
            files[name] = _record(name, out / fmt.file_name, time.perf_counter() - start)
            if check:
                checks[name] = check
        if "manifest" in chosen:
            files["manifest"] = _write_manifest(ctx, files, checks)
    finally:
        ctx.close()
    return ExportResult(out, resolved.spec, resolved, files, skipped, checks, setup_seconds)


def _record(name: str, path: Path, seconds: float) -> ExportedFile:
    from nasgen.exporting._manifest import sha256_of

    return ExportedFile(name, path, path.stat().st_size, sha256_of(path), seconds)


def _write_manifest(ctx: Any, files: dict[str, ExportedFile], checks: dict[str, dict[str, Any]]) -> ExportedFile:
    from nasgen.exporting._manifest import build_manifest, write_manifest

    start = time.perf_counter()
    records = {
        name: {
            "path": f.path.name,
            "bytes": f.bytes,
            "sha256": f.sha256,
            "export_seconds": round(f.seconds, 3),
        }
        for name, f in files.items()
    }
    manifest = build_manifest(ctx.spec, ctx.source, files=records, checks=checks, trained=ctx.trained)
    path = ctx.out_dir / "manifest.json"
    write_manifest(path, manifest)
    return _record("manifest", path, time.perf_counter() - start)


def load(
    source: str | Path | ArchSpec,
    *,
    trial: str | int = "best",
    from_code: bool = False,
) -> nn.Module:
    """Load an exported (or trained, or searched) network as a PyTorch module, in eval mode.

    The architecture comes from ``arch.yaml`` (or the run's trial) and is built with
    :func:`nasgen.nn.build_model`; trained weights are loaded from ``weights.safetensors`` (or a
    ``weights_only`` ``weights.pt``) when present. Nothing is unpickled.

    Args:
        source: An export or training directory, a run directory, an arch file or a built-in name.
        trial: ``"best"`` or a trial number (run directories only).
        from_code: Build from the directory's generated ``model.py`` instead of ``nasgen.nn`` (same keys).

    Returns:
        The model in eval mode, on the CPU; a ``build_model`` model also carries ``model.spec``.

    Raises:
        ExportError: No ``arch.yaml`` / ``study.db`` in a directory, weights that do not fit, or
            ``from_code`` without a ``model.py``.
        SpecError: The architecture is invalid or the name unknown.

    Example:
        >>> import nasgen, torch
        >>> model = nasgen.load("out/b0")
        >>> model(torch.zeros(1, 3, 224, 224)).shape
        torch.Size([1, 1000])
    """
    from nasgen.exporting._codegen import import_model_code
    from nasgen.exporting._weights import load_weights_into, read_state_dict

    resolved = resolve_source(source, trial=trial)
    if from_code:
        code = Path(resolved.location) / "model.py"
        if resolved.kind != "directory" or not code.is_file():
            raise ExportError(f"from_code needs an export directory with model.py, got {resolved.location!r}")
        module = import_model_code(code, f"nasgen_model_{resolved.spec.short_hash()}")
        model = module.build(resolved.spec.num_classes)
    else:
        from nasgen.nn import build_model

        model = build_model(resolved.spec)
    if resolved.weights_path is not None:
        load_weights_into(model, read_state_dict(resolved.weights_path), where=str(resolved.weights_path))
    return model.eval()
