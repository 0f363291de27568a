"""The rounding rules of compound scaling, against TF round_filters / torchvision _make_divisible values."""

from __future__ import annotations

import pytest
from nasgen_scaling import round_channels, round_repeats, round_resolution


@pytest.mark.parametrize(
    ("channels", "width", "expected"),
    [
        (32, 1.0, 32),
        (32, 1.1, 32),  # 35.2 → 32: nearest multiple of 8, and 32 ≥ 0.9 · 35.2
        (16, 1.1, 16),  # 17.6 → 16 (16 ≥ 15.84)
        (24, 1.1, 24),  # 26.4 → 24 (24 ≥ 23.76)
        (40, 1.1, 48),  # 44.0 → 48: halves round up
        (80, 1.1, 88),
        (112, 1.1, 120),  # 123.2 → 120
        (320, 1.1, 352),
        (1280, 1.1, 1408),
        (40, 1.2, 48),
        (40, 1.4, 56),
        (16, 1.8, 32),  # 28.8 → 32
        (24, 1.8, 40),  # 43.2 → 40
        (112, 1.8, 200),  # 201.6 → 200
        (192, 2.0, 384),
        (1280, 2.0, 2560),
    ],
)
def test_round_channels_matches_released_widths(channels: int, width: float, expected: int) -> None:
    assert round_channels(channels * width) == expected


def test_round_channels_never_loses_more_than_ten_percent() -> None:
    # 20 → nearest multiple of 16 is 16, but 16 < 0.9 · 20 = 18: one more step
    assert round_channels(20, 16) == 32
    assert round_channels(4) == 8  # never below the divisor
    assert round_channels(4, 8, min_value=16) == 16
    for value in range(1, 2000):
        rounded = round_channels(value / 3)
        assert rounded % 8 == 0
        assert rounded >= 0.9 * (value / 3)
        assert rounded >= 8


@pytest.mark.parametrize(
    ("num_layers", "depth", "expected"),
    [(1, 1.0, 1), (1, 1.1, 2), (3, 1.1, 4), (4, 1.2, 5), (2, 1.4, 3), (3, 1.8, 6), (4, 2.2, 9), (1, 3.1, 4),
     (4, 3.1, 13), (2, 1.2**3, 4)],
)
def test_round_repeats_is_ceil(num_layers: int, depth: float, expected: int) -> None:
    assert round_repeats(num_layers, depth) == expected


def test_round_resolution() -> None:
    assert round_resolution(224 * 1.15) == 258  # 257.6
    assert round_resolution(224 * 1.15**2) == 296  # 296.24
    assert round_resolution(250.5) == 251  # halves up
    assert round_resolution(224 * 1.15, 8) == 256
    assert round_resolution(3, 8) == 8
