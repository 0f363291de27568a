"""Upper bounds on every numeric spec field, stated in the schema and checked before any work (issue 18)."""

from __future__ import annotations

# Time bounds are CPU seconds (time.process_time): on the shared 2-core machine a niced test can wait far
# longer for a core than it computes.

import time
from pathlib import Path

import pytest

from nasgen.cost import count_cost
from nasgen.errors import SpecError
from nasgen.spec import MAX_CHANNELS, MAX_LAYERS, json_schema, load_spec, loads_spec

B0_YAML = (Path(__file__).parents[2] / "nasgen" / "archs" / "efficientnet-b0.yaml").read_text()


def _patched(old: str, new: str) -> str:
    assert old in B0_YAML
    return B0_YAML.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        ("num_layers: 1\n", "num_layers: 1000000000\n", "stages.0.num_layers",
         "Input should be less than or equal to 100, got 1000000000"),
        ("expand_ratio: 6", "expand_ratio: 1000000", "stages.1.expand_ratio",
         "Input should be less than or equal to 16, got 1000000"),
        ("out_channels: 24", "out_channels: " + "1" + "0" * 59, "stages.1.out_channels",
         "Input should be less than or equal to 16384, got 100000000000000000..."),
        ("out_channels: 32", "out_channels: 20000", "stem.out_channels", "less than or equal to 16384, got 20000"),
        ("head_channels: 1280", "head_channels: 99999", "head_channels", "less than or equal to 16384, got 99999"),
        ("resolution_px: 224", "resolution_px: 100000", "resolution_px", "less than or equal to 4096, got 100000"),
        ("in_channels: 3", "in_channels: 5000", "in_channels", "less than or equal to 1024, got 5000"),
        ("num_classes: 1000", "num_classes: 2000000", "num_classes", "less than or equal to 1000000, got 2000000"),
        ("bn_eps: 1.0e-05", "bn_eps: .inf", "bn_eps", "Input should be a finite number, got inf"),
        ("bn_eps: 1.0e-05", "bn_eps: 0.5", "bn_eps", "less than or equal to 0.1, got 0.5"),
        ("se_ratio: 0.25", "se_ratio: .nan", "stages.0.se_ratio", "Input should be a finite number, got nan"),
        ("dropout: 0.2", "dropout: .nan", "dropout", "Input should be a finite number, got nan"),
    ],
)
def test_numeric_fields_have_upper_bounds(old: str, new: str, path: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        loads_spec(_patched(old, new), file="a.yaml")
    assert info.value.path == path
    assert message in str(info.value)


def test_bn_momentum_in_tensorflow_convention_is_refused_naming_both() -> None:
    with pytest.raises(SpecError) as info:
        loads_spec(_patched("bn_momentum: 0.1", "bn_momentum: 0.99"), file="a.yaml")
    message = str(info.value)
    assert info.value.path == "bn_momentum"
    assert "must be at most 0.5 in PyTorch's convention" in message
    assert "TF momentum 0.99 = PyTorch 0.01, so write 0.01" in message
    assert loads_spec(_patched("bn_momentum: 0.1", "bn_momentum: 0.01")).bn_momentum == 0.01


def test_schema_states_the_bounds() -> None:
    schema = json_schema()
    defs = schema["$defs"]
    assert defs["MBConvSpec"]["properties"]["num_layers"]["maximum"] == MAX_LAYERS
    assert defs["MBConvSpec"]["properties"]["out_channels"]["maximum"] == MAX_CHANNELS
    assert defs["MBConvSpec"]["properties"]["expand_ratio"]["maximum"] == 16
    assert defs["StemSpec"]["properties"]["out_channels"]["maximum"] == MAX_CHANNELS
    props = schema["properties"]
    assert props["resolution_px"]["maximum"] == 4096
    assert props["head_channels"]["maximum"] == MAX_CHANNELS
    assert props["bn_eps"]["maximum"] == 0.1
    assert props["bn_momentum"]["maximum"] == 0.5
    assert props["stages"]["maxItems"] == 64


def test_largest_allowed_spec_is_counted_quickly() -> None:
    b0 = load_spec("efficientnet-b0")
    stages = tuple(stage.model_copy(update={"num_layers": MAX_LAYERS}) for stage in b0.stages)
    big = b0.replace(stages=stages)
    start = time.process_time()
    report = count_cost(big)
    assert time.process_time() - start < 2.0
    assert big.num_blocks == 7 * MAX_LAYERS
    assert report.macs > count_cost(b0).macs


def test_reference_architectures_are_within_the_bounds() -> None:
    for name in ("efficientnet-b0", "efficientnetv2-s", "efficientnetv2-m", "efficientnetv2-l"):
        assert load_spec(name).num_blocks > 0
