"""``nasgen export``: the found network as files — arch YAML, standalone PyTorch code, weights,
TorchScript, ONNX and a manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from nasgen.cli._common import console, err_console, user_errors

_FORMATS_HELP = (
    "Comma-separated subset of arch, code, weights, torchscript, onnx, manifest. Default: all, less weights "
    "when there are none and onnx without its extra (pip install 'nasgen\\[onnx]')."
)


@user_errors
def export(
    source: str = typer.Argument(
        ..., help="Arch YAML/JSON, built-in name, search run directory (study.db) or training directory."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (must be empty unless --force)."),
    trial: str = typer.Option("best", help="Trial of a run directory: 'best' or its number."),
    format: Optional[str] = typer.Option(None, "--format", "-f", help=_FORMATS_HELP),
    force: bool = typer.Option(False, "--force", help="Replace an earlier export in the output directory."),
    seed: int = typer.Option(0, help="Seed of the initial weights (no trained ones) and of the check input."),
) -> None:
    """Export an architecture as files that need no nasgen.

    Writes arch.yaml, model.py (PyTorch only), weights.safetensors (trained weights), model.ts
    (TorchScript), model.onnx and manifest.json. MACs are those of Conv2d and Linear layers at batch 1
    (FLOPs = 2 x MACs). TorchScript and ONNX outputs are checked against eager eval.
    """
    from rich.markup import escape

    from nasgen.cost import count_cost
    from nasgen.exporting import export as run_export
    from nasgen.units import format_bytes, format_count

    result = run_export(source, out, trial=trial, formats=format, force=force, seed=seed)
    cost = count_cost(result.spec)
    lines = [
        f"exported {result.source.describe()} to {result.out_dir}",
        f"  {format_count(cost.params)} params, {format_count(cost.macs)} MACs at {result.spec.resolution_px} px "
        f"(conv + linear, batch 1), hash {result.spec.short_hash()}",
    ]
    for name, file in result.files.items():
        check = result.checks.get(name, {})
        note = f"  max |diff| vs eager {check['max_abs_diff']:.2g}" if "max_abs_diff" in check else ""
        lines.append(f"  {file.path.name:<20} {format_bytes(file.bytes):>10}  {file.seconds:6.2f} s{note}")
    for line in lines:
        console.print(escape(line), highlight=False, soft_wrap=True)
    for name, reason in result.skipped.items():
        err_console.print(escape(f"  skipped {name}: {reason}"), highlight=False, soft_wrap=True)
    if result.source.note:
        err_console.print(escape(f"note: {result.source.note}"), highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``nasgen export`` to the app (the command is the module-level :func:`export`)."""
    app.command("export")(export)
