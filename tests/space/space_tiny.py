"""The tiny hand-countable space of the space tests (imported by name: conftest modules clash)."""

TINY_YAML = """\
name: tiny
description: two stages, the second optional
num_classes: 10
resolution_px: [32, 64]
stem:
  out_channels: 16
stages:
- num_layers: 1
  kernel_size: [3, 5]
  stride: 1
  expand_ratio: 1
  out_channels: 16
- kind: [mbconv, fused_mbconv]
  num_layers: {low: 1, high: 2}
  kernel_size: 3
  stride: 2
  expand_ratio: [1, 4]
  out_channels: 24
  se_ratio: [0.0, 0.25]
  optional: true
"""
# by hand: 2 resolutions x 2 kernels x (1 removed + 2 kinds x 2 layer counts x 2 ratios x 2 SE) = 4 x 17 = 68
TINY_SIZE = 68
