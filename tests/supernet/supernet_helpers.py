"""Spaces, paths and recipes the supernet tests share (imported by name, like tests/search/scaleout_helpers.py)."""

from __future__ import annotations

from pathlib import Path

from nasgen.config import SupernetRecipe, TrainConfig

ROOT = Path(__file__).resolve().parents[2]
SMALL_SPACE = ROOT / "examples" / "small_space.yaml"
DS_PLUGIN = ROOT / "tests" / "fixtures" / "ds_plugin"

DS_SPACE = """\
name: ds-mix
description: the ds plugin kind beside MBConv and Fused-MBConv, with every elastic field
in_channels: 3
num_classes: 10
resolution_px: [32, 64]
stem: {out_channels: [8, 16], kernel_size: [3, 5], stride: 2}
stages:
- {kind: [ds, mbconv], num_layers: [1, 2], kernel_size: [3, 5], stride: 1, expand_ratio: 1,
   out_channels: [8, 16], se_ratio: [0.0, 0.25]}
- {kind: mbconv, num_layers: {low: 1, high: 3}, kernel_size: [3, 5], stride: 2, expand_ratio: [1, 4, 6],
   out_channels: [16, 24], se_ratio: [0.0, 0.25]}
- {kind: [ds, fused_mbconv], num_layers: [1, 2], kernel_size: [3, 5], stride: [1, 2], expand_ratio: 1,
   out_channels: [24, 32], se_ratio: [0.0, 0.25], optional: true}
- {kind: [fused_mbconv, mbconv], num_layers: [1, 2], kernel_size: 3, stride: 2, expand_ratio: [1, 4],
   out_channels: [32, 40], se_ratio: [0.0, 0.25]}
head_channels: [32, 64]
dropout: 0.1
drop_path_rate: 0.1
"""


def tiny_recipe(**changes) -> SupernetRecipe:
    """Two epochs of 256 images at the proxy's resolution rule: seconds, not minutes."""
    train = TrainConfig(optimizer="adamw", lr=6e-3, weight_decay=0.05, warmup_epochs=0.5, batch_size=64, epochs=2,
                        images_per_epoch=256, val_images=200, eval_batch_size=200, resolution_px=32,
                        scale_resolution_from_px=224, zero_init_residual=True, dropout=0.0)  # fmt: skip
    return SupernetRecipe(train=train, n_random=1, calibration_images=128).replace(**changes)
