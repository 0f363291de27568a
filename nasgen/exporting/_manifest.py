"""``manifest.json``: what was exported, from where, at what cost, in which files (no torch)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from nasgen.exporting._codegen import arch_name
from nasgen.exporting._interop import timm_view, torchvision_view
from nasgen.exporting._source import ExportSource
from nasgen.spec import ArchSpec

__all__ = ["COST_CONVENTION", "MANIFEST_VERSION", "build_manifest", "sha256_of", "write_manifest"]

MANIFEST_VERSION = 1

COST_CONVENTION = (
    "MACs of Conv2d and Linear layers at batch 1 at resolution_px (BatchNorm, activations, the SE multiply, "
    "pooling and residual adds not counted); FLOPs = 2 x MACs; params = all trainable parameters"
)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_manifest(
    spec: ArchSpec,
    source: ExportSource,
    *,
    files: dict[str, dict[str, Any]],
    checks: dict[str, dict[str, Any]],
    trained: bool,
) -> dict[str, Any]:
    """The manifest as plain JSON data.

    Args:
        spec: The exported architecture.
        source: Where it came from (study, trial, score for runs).
        files: Format name → ``{"path", "bytes", "sha256", "export_seconds"}`` of every file written before
            the manifest (path relative to the output directory).
        checks: Format name → result of its round-trip check (``max_abs_diff``, ``atol``, input shape).
        trained: Whether the exported weights are trained ones (else freshly initialised).

    Returns:
        A JSON-serialisable dict: ``nasgen_version``, ``name``, ``hash``, ``resolution_px``, ``params``,
        ``macs``, ``flops`` (= 2 x MACs), ``cost_convention``, ``source``, ``score``, ``weights``,
        ``data_config`` (mean, std, input size, interpolation, crop, classes of the weights' training data, or
        ``None``: :class:`~nasgen.data.DataConfig`),
        ``architecture`` (``display``, ``timm``, ``torchvision``), ``files`` and ``checks``.
    """
    import nasgen
    from nasgen.cost import count_cost

    cost = count_cost(spec)
    return {
        "manifest_version": MANIFEST_VERSION,
        "nasgen_version": nasgen.__version__,
        "name": arch_name(spec),
        "hash": spec.content_hash(),
        "short_hash": spec.short_hash(),
        "resolution_px": spec.resolution_px,
        "input_shape": [1, spec.in_channels, spec.resolution_px, spec.resolution_px],
        "num_classes": spec.num_classes,
        "params": cost.params,
        "macs": cost.macs,
        "flops": cost.flops,
        "activation_bytes": cost.activation_bytes,
        "cost_convention": COST_CONVENTION,
        "source": source.as_dict(),
        "score": source.score,
        "weights": "trained" if trained else "initialised (untrained)",
        "data_config": source.data_config.to_dict() if source.data_config is not None else None,
        "architecture": {
            "display": spec.display(),
            "timm": timm_view(spec),
            "torchvision": torchvision_view(spec),
        },
        "files": files,
        "checks": checks,
    }


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest`` as indented JSON with a trailing newline."""
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
