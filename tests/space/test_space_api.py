"""SearchSpace API on hand-countable spaces: labels, conditionality, freeze / params_of, size, sample, MACs."""

from __future__ import annotations

import random

import pytest
from space_tiny import TINY_SIZE, TINY_YAML

from nasgen.cost import count_cost
from nasgen.errors import SpecError
from nasgen.space import Choice, IntRange, SearchSpace, StageSpace, StemSpace, count_stage_sequences, loads_space

TINY_LABELS = [
    "resolution_px",
    "stages.0.kernel_size",
    "stages.1.present",
    "stages.1.kind",
    "stages.1.num_layers",
    "stages.1.expand_ratio",
    "stages.1.se_ratio",
]


def _all_params(space: SearchSpace) -> list[dict]:
    """Every assignment of the active dimensions (brute force, for small spaces)."""
    out = [{}]
    for label, dim in space.dimensions().items():
        out = [
            {**params, label: value} if space.is_active(label, params) else params
            for params in out
            for value in (dim.values() if space.is_active(label, params) else (None,))
        ]
    return out


def test_labels_are_ordered_unique_and_skip_fixed_fields(tiny: SearchSpace) -> None:
    assert list(tiny.dimensions()) == TINY_LABELS
    assert tiny.fixed_values()["stages.1.stride"] == 2
    assert tiny.fixed_values()["stem.out_channels"] == 16
    assert tiny.dimensions()["stages.1.num_layers"] == IntRange(1, 2, 1)
    assert tiny.dimensions()["stages.1.present"] == Choice([True, False])


def test_conditionality_on_present(tiny: SearchSpace) -> None:
    assert tiny.condition_of("stages.1.kind") == "stages.1.present"
    assert tiny.condition_of("stages.1.present") is None
    assert tiny.condition_of("stages.0.kernel_size") is None
    assert tiny.is_active("stages.1.kind", {"stages.1.present": True})
    assert not tiny.is_active("stages.1.kind", {"stages.1.present": False})
    assert tiny.is_active("resolution_px", {})
    with pytest.raises(SpecError, match=r"stages\.7\.kind: not a label of this search space"):
        tiny.is_active("stages.7.kind", {})


def test_size_is_exact_on_the_tiny_space(tiny: SearchSpace) -> None:
    assert tiny.size() == TINY_SIZE
    specs = {tiny.freeze(params).content_hash() for params in _all_params(tiny)}
    assert len(specs) == TINY_SIZE


def test_size_counts_identical_optional_stages_once() -> None:
    # A mandatory stage (2 kernels), then two optional stages with identical domains (2 layer counts each):
    # sequences A, AB, AC, ABC where AB and AC coincide: 2 + 2*2 + 2*2*2 = 14 (the product formula gives 18).
    stage = {"num_layers": IntRange(1, 2), "kernel_size": 3, "stride": 1, "expand_ratio": 1, "out_channels": 16}
    space = SearchSpace(
        resolution_px=32,
        stem=StemSpace(out_channels=16),
        stages=[
            {**stage, "num_layers": 1, "kernel_size": [3, 5]},
            {**stage, "optional": True},
            {**stage, "optional": True},
        ],
    )
    assert space.size() == 14
    assert len({space.freeze(params).content_hash() for params in _all_params(space)}) == 14


def test_count_stage_sequences_with_partial_overlap() -> None:
    a, b, c = frozenset({1, 2}), frozenset({2, 3}), frozenset({9})
    # X (opt) in {1,2}, Y (opt) in {2,3}, Z in {9}: strings Z, XZ, YZ, XYZ -> 1 + |{1,2,3}| + 4 = 8
    assert count_stage_sequences([(a,), (b,), (c,)], [True, True, False]) == 8
    assert count_stage_sequences([(a,), (c,)], [False, False]) == 2


def test_freeze_and_params_of_are_inverse(tiny: SearchSpace) -> None:
    for params in _all_params(tiny):
        spec = tiny.freeze(params)
        assert tiny.params_of(spec) == params
        assert tiny.contains(spec)


def test_freeze_applies_fixed_values_and_overrides(tiny: SearchSpace) -> None:
    params = {"resolution_px": 64, "stages.0.kernel_size": 5, "stages.1.present": True, "stages.1.kind": "fused_mbconv",
              "stages.1.num_layers": 2, "stages.1.expand_ratio": 4, "stages.1.se_ratio": 0.25}
    spec = tiny.freeze(params, num_classes=3, in_channels=1, name="x")
    assert spec.display() == ["ir_r1_k5_s1_e1_c16", "er_r2_k3_s2_e4_c24_se0.25"]
    assert (spec.num_classes, spec.in_channels, spec.name, spec.resolution_px) == (3, 1, "x", 64)
    assert tiny.freeze(params).num_classes == 10  # the space's own value
    assert tiny.contains(spec)  # num_classes / in_channels are not searched


def test_freeze_ignores_the_labels_of_a_removed_stage(tiny: SearchSpace) -> None:
    base = {"resolution_px": 32, "stages.0.kernel_size": 3, "stages.1.present": False}
    with_extra = {**base, "stages.1.kind": "mbconv", "stages.1.num_layers": 2}
    assert tiny.freeze(with_extra) == tiny.freeze(base)
    assert len(tiny.freeze(base).stages) == 1
    with pytest.raises(SpecError, match=r"stages\.1\.num_layers: must be an integer in \[1, 2\] step 1, got 5"):
        tiny.freeze({**base, "stages.1.num_layers": 5})  # still in the domain when given


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"stages.0.kernel_size": 4}, "stages.0.kernel_size", "must be 3 or 5, got 4"),
        ({"stages.0.kernel_size": True}, "stages.0.kernel_size", "must be 3 or 5, got True"),
        ({"stages.2.kind": "mbconv"}, "stages.2.kind", "not a label of this search space"),
        ({"stages.1.stride": 2}, "stages.1.stride", "is fixed to 2 in this space, not a dimension"),
        ({"resolution_px": None}, "resolution_px", "must be 32 or 64, got None"),
    ],
)
def test_freeze_names_the_bad_label(tiny: SearchSpace, change: dict, path: str, message: str) -> None:
    params = {"resolution_px": 32, "stages.0.kernel_size": 3, "stages.1.present": False, **change}
    with pytest.raises(SpecError, match=message) as info:
        tiny.freeze(params)
    assert info.value.path == path


def test_freeze_requires_every_active_label(tiny: SearchSpace) -> None:
    with pytest.raises(SpecError, match=r"stages\.1\.kind: missing") as info:
        tiny.freeze({"resolution_px": 32, "stages.0.kernel_size": 3, "stages.1.present": True})
    assert info.value.path == "stages.1.kind"
    with pytest.raises(SpecError, match=r"stages\.1\.present: missing"):
        tiny.freeze({"resolution_px": 32, "stages.0.kernel_size": 3})
    with pytest.raises(SpecError, match=r"num_classes: must be a positive integer, got 0"):
        tiny.freeze({"resolution_px": 32, "stages.0.kernel_size": 3, "stages.1.present": False}, num_classes=0)


def test_params_of_rejects_a_spec_outside_the_space(tiny: SearchSpace) -> None:
    spec = tiny.freeze({"resolution_px": 32, "stages.0.kernel_size": 3, "stages.1.present": False})
    with pytest.raises(SpecError, match=r"resolution_px: not in the search space: 48 is not 32 or 64"):
        tiny.params_of(spec.replace(resolution_px=48))
    wide = spec.replace(stages=[spec.stages[0].model_copy(update={"out_channels": 32})])
    with pytest.raises(SpecError, match=r"stages\.0: not in the search space: out_channels 32 is not in"):
        tiny.params_of(wide)
    with pytest.raises(SpecError, match=r"stages: the space has 1 to 2 stages, the spec has 3"):
        tiny.params_of(spec.replace(stages=[spec.stages[0]] * 3))
    assert not tiny.contains(wide)


def test_sample_is_reproducible_contained_and_leaves_global_rng_alone(tiny: SearchSpace) -> None:
    state = random.getstate()
    specs = [tiny.sample(seed) for seed in range(40)]
    assert random.getstate() == state
    assert specs == [tiny.sample(seed) for seed in range(40)]
    assert all(tiny.contains(spec) for spec in specs)
    assert len({spec.content_hash() for spec in specs}) > 10
    assert {len(spec.stages) for spec in specs} == {1, 2}  # the optional stage is sometimes removed


def test_python_space_equals_yaml_space() -> None:
    space = SearchSpace(
        name="tiny",
        description="two stages, the second optional",
        num_classes=10,
        resolution_px=Choice([32, 64]),
        stem=StemSpace(out_channels=16),
        stages=[
            StageSpace(num_layers=1, kernel_size=Choice([3, 5]), stride=1, expand_ratio=1, out_channels=16),
            StageSpace(kind=["mbconv", "fused_mbconv"], num_layers=IntRange(1, 2), kernel_size=3, stride=2,
                       expand_ratio=[1, 4], out_channels=24, se_ratio=[0, 0.25], optional=True),
        ],
    )
    assert space == loads_space(TINY_YAML)


def test_macs_extremes_match_brute_force(tiny: SearchSpace) -> None:
    macs = [count_cost(tiny.freeze(params)).macs for params in _all_params(tiny)]
    smallest, largest = tiny.macs_extremes()
    assert tiny.macs_range() == (min(macs), max(macs))
    assert (count_cost(smallest).macs, count_cost(largest).macs) == (min(macs), max(macs))
    assert tiny.contains(smallest) and tiny.contains(largest)


def test_macs_extremes_with_kinds_strides_and_fused_expansion() -> None:
    # Non-monotone choices everywhere: kind, fused expand 1 vs >= 2, stride, optional stages.
    kinds = ["mbconv", "fused_mbconv"]
    first = {"kind": kinds, "num_layers": 1, "kernel_size": 3, "stride": [1, 2], "expand_ratio": [1, 2, 4],
             "out_channels": 8}
    middle = {**first, "stride": 2, "expand_ratio": [1, 4], "out_channels": [8, 32], "optional": True}
    last = {**first, "stride": [1, 2], "expand_ratio": 4, "out_channels": 64, "se_ratio": 0.25}
    space = SearchSpace(
        resolution_px=[32, 48],
        stem=StemSpace(out_channels=16),
        stages=[first, middle, last],
        head_channels=128,
        num_classes=10,
    )
    every = _all_params(space)
    assert len(every) == space.size()
    macs = [count_cost(space.freeze(params)).macs for params in every]
    assert space.macs_range() == (min(macs), max(macs))
    assert space.macs_range(num_classes=1000)[1] == max(macs) + 128 * 990


def test_macs_range_exact_whatever_the_limit(monkeypatch: pytest.MonkeyPatch, tiny: SearchSpace) -> None:
    # formerly a coordinate-descent fallback bounded from inside; the dynamic program is exact
    import nasgen.space._macs as macs_module

    monkeypatch.setattr(macs_module, "EXHAUSTIVE_LIMIT", 0)
    macs = [count_cost(tiny.freeze(params)).macs for params in _all_params(tiny)]
    low, high = tiny.macs_range()
    assert min(macs) <= low <= high <= max(macs)
    assert low == min(macs)
    assert high == max(macs)

