"""Shared fixtures for the nn tests: a tiny spec that exercises every block variant at 32 px."""

from __future__ import annotations

import pytest

from nasgen.spec import ArchSpec, spec_from_dict

TINY = {
    "name": "tiny",
    "in_channels": 3,
    "resolution_px": 32,
    "stem": {"out_channels": 8, "kernel_size": 3, "stride": 2},
    "stages": [
        {"kind": "fused_mbconv", "num_layers": 2, "kernel_size": 3, "stride": 1, "expand_ratio": 1, "out_channels": 8},
        {"kind": "fused_mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 4,
         "out_channels": 16, "se_ratio": 0.25},
        {"kind": "mbconv", "num_layers": 1, "kernel_size": 3, "stride": 1, "expand_ratio": 1, "out_channels": 16},
        {"kind": "mbconv", "num_layers": 2, "kernel_size": 5, "stride": 2, "expand_ratio": 6, "out_channels": 24,
         "se_ratio": 0.25},
    ],
    "head_channels": 64,
    "num_classes": 10,
    "dropout": 0.2,
    "drop_path_rate": 0.2,
}


@pytest.fixture
def tiny_spec() -> ArchSpec:
    return spec_from_dict(TINY)
