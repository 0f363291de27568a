"""Space checks cost O(dimensions), not O(range); the spec's upper bounds hold in spaces (issue 18)."""

from __future__ import annotations

# Time bounds are CPU seconds (time.process_time): on the shared 2-core machine a niced test can wait far
# longer for a core than it computes.

import itertools
import time
from pathlib import Path

import pytest

from nasgen.cost import count_cost
from nasgen.errors import SpecError
from nasgen.space import Choice, count_stage_sequences, load_space, loads_space

V1_YAML = (Path(__file__).parents[2] / "search_spaces" / "efficientnet-v1.yaml").read_text()

EXTRA_STAGE = """\
- kind: [mbconv, fused_mbconv]
  num_layers: {{low: 1, high: 3}}
  kernel_size: [3, 5]
  stride: 1
  expand_ratio: [1, 4, 6]
  out_channels: [{channels}]
  se_ratio: [0.0, 0.25]
  optional: true
"""


def _with_optional_stages(count: int) -> str:
    head, tail = V1_YAML.split("head_channels:")
    extra = "".join(EXTRA_STAGE.format(channels="320, 336" if i % 2 else "320") for i in range(count))
    return head + extra + "head_channels:" + tail


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        ("  stride: 1\n", "  stride: {low: 1, high: 1000000000}\n", "stages.0.stride",
         "must be 1 or 2, got 1000000000"),
        ("out_channels: [8, 16, 24]", "out_channels: {low: 8, high: 10000000}", "stages.0.out_channels",
         "less than or equal to 16384, got 10000000"),
        ("num_layers: {low: 1, high: 2}", "num_layers: {low: 1, high: 1000000000}", "stages.0.num_layers",
         "less than or equal to 100, got 1000000000"),
        ("resolution_px: [96, 128, 160, 192, 224]", "resolution_px: {low: 96, high: 99999999999, step: 1}",
         "resolution_px", "less than or equal to 4096"),
        ("bn_momentum: 0.1", "bn_momentum: [0.1, 0.99]", "bn_momentum", "TF momentum 0.99 = PyTorch 0.01"),
        ("num_classes: 1000", "num_classes: 100000000", "num_classes", "less than or equal to 1000000"),
    ],
)
def test_huge_ranges_are_refused_at_once(old: str, new: str, path: str, message: str) -> None:
    assert old in V1_YAML
    start = time.process_time()
    with pytest.raises(SpecError) as info:
        loads_space(V1_YAML.replace(old, new, 1), file="space.yaml")
    assert time.process_time() - start < 0.5
    assert info.value.path == path
    assert message in str(info.value)


def test_a_choice_of_too_many_values_is_refused() -> None:
    with pytest.raises(SpecError, match="a choice holds at most 4096 values, got 5000"):
        Choice(range(5000))
    assert len(Choice(range(4096))) == 4096  # and the distinctness check is linear


def test_too_many_stages_refused() -> None:
    with pytest.raises(SpecError, match="stages: Tuple should have at most 64 items after validation, not 67"):
        loads_space(_with_optional_stages(60), file="space.yaml")


def test_size_and_macs_range_of_fifty_optional_stages_under_a_second() -> None:
    space = loads_space(_with_optional_stages(50))
    start = time.process_time()
    size = space.size()
    low, high = space.macs_range(num_classes=10)
    assert time.process_time() - start < 1.0
    v1 = load_space("efficientnet-v1")
    assert size > v1.size() * 10**50
    # the smallest leaves every extra stage out; the largest keeps every one
    assert low == v1.macs_range(num_classes=10)[0]
    smallest, largest = space.macs_extremes(num_classes=10)
    assert len(largest.stages) == 57 and count_cost(largest).macs == high


def _corner(space, largest: bool) -> dict:
    params = {}
    for label, dim in space.dimensions().items():
        values = dim.values()
        if label.endswith((".present", ".kind")) or isinstance(values[0], str) or label in ("dropout",):
            params[label] = values[0]
        else:
            params[label] = max(values) if largest != label.endswith("stride") else min(values)
    return params


def test_macs_range_exact_on_three_optional_stages() -> None:
    space = loads_space(_with_optional_stages(3))
    low, high = space.macs_range(num_classes=10)
    seen = []
    for largest in (True, False):
        base = _corner(space, largest)
        for present in itertools.product([True, False], repeat=5):
            for kinds in itertools.product(["mbconv", "fused_mbconv"], repeat=3):
                for ratios in itertools.product([1, 6 if largest else 4], repeat=3):
                    params = dict(base)
                    params.update({"stages.4.present": present[3], "stages.6.present": present[4]})
                    for i, flag, kind, ratio in zip((7, 8, 9), present, kinds, ratios):
                        params.update({f"stages.{i}.present": flag, f"stages.{i}.kind": kind,
                                       f"stages.{i}.expand_ratio": ratio})
                    seen.append(count_cost(space.freeze(params, num_classes=10)).macs)
    assert max(seen) == high
    assert min(seen) == low


def test_count_stage_sequences_of_many_equal_optional_stages() -> None:
    # n equal optional stages with a domain of d symbols, then one mandatory: Σ_{k=0..n} d^(k+1)
    domain = (frozenset({1, 2}), frozenset({3, 4, 5}))  # 6 symbols
    n = 40
    start = time.process_time()
    count = count_stage_sequences([domain] * (n + 1), [True] * n + [False])
    assert time.process_time() - start < 1.0
    assert count == sum(6 ** (k + 1) for k in range(n + 1))
