"""``nasgen import timm:NAME``: one of timm's EfficientNets as arch.yaml + weights.safetensors."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from nasgen.cli._common import console, err_console, user_errors


@user_errors
def import_model(
    source: str = typer.Argument(..., help="timm:<model name>, e.g. timm:tf_efficientnetv2_s (timm's EfficientNets)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory: arch.yaml and weights.safetensors."),
    weights: Optional[Path] = typer.Option(
        None, "--weights",
        help="A checkpoint of that timm model (.safetensors, or a .pth/.bin state dict read with "
        "torch.load(weights_only=True)). Default: timm's random initialization; nothing is downloaded.",
    ),
    force: bool = typer.Option(False, "--force", help="Replace an earlier import in the output directory."),
) -> None:
    """Import one of timm's EfficientNets (EfficientNet B0-B8, -Lite, -EdgeTPU, V2 and their tf_ ports) as a
    nasgen architecture with its weights: arch.yaml and weights.safetensors (nasgen's names, with the data
    config of timm's pretrained_cfg), which `nasgen export`, `nasgen train --init` and nasgen.load read."""
    from rich.markup import escape

    from nasgen.cost import count_cost
    from nasgen.timm import import_timm
    from nasgen.units import format_count

    result = import_timm(source, out, weights=weights, force=force)
    spec, cost = result.spec, count_cost(result.spec)
    lines = [
        f"imported {source} to {result.out}: {format_count(cost.params)} params, {format_count(cost.macs)} MACs at "
        f"{spec.resolution_px} px (conv + linear, batch 1), hash {spec.short_hash()}",
        f"  padding {spec.padding}, BatchNorm eps {spec.bn_eps:g}, activation {spec.activation}, SE widths by "
        f"{spec.se_rounding}; weights: {result.weights}",
    ]
    if result.data_config is not None:
        config = result.data_config
        lines.append(f"  data config: input {config.input_size}, mean {config.mean}, std {config.std}, "
                     f"{config.interpolation}, crop {config.crop_mode} {config.crop_pct:g}")  # fmt: skip
    for line in lines:
        console.print(escape(line), highlight=False, soft_wrap=True)
    if weights is None:
        err_console.print("note: no --weights: weights.safetensors holds timm's random initialization",
                          highlight=False)  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command("import")(import_model)
