"""The analytic counter against the reference numbers of docs/design.md and hand-counted small networks."""

from __future__ import annotations

import math
import subprocess
import sys
import time
import timeit

import pytest

from nasgen.cost import CostReport, conv_output_size, count_cost
from nasgen.errors import PluginError, SpecError
from nasgen.spec import load_spec, spec_from_dict

# docs/design.md reference numbers: (params, MACs) at the architecture's own resolution
REFERENCE = {
    "efficientnet-b0": (224, 5_288_548, 385_814_752),
    "efficientnetv2-s": (384, 21_458_488, 8_365_617_152),
    "efficientnetv2-m": (480, 54_139_356, 24_582_460_384),
    "efficientnetv2-l": (480, 118_515_272, 56_079_699_008),
}

# torchvision's released B1–B7: (width, depth, resolution) -> (params, MACs)
B_SERIES = {
    "b1": ((1.0, 1.1, 240), (7_794_184, 686_802_832)),
    "b2": ((1.1, 1.2, 260), (9_109_994, 993_561_872)),
    "b3": ((1.2, 1.4, 300), (12_233_232, 1_827_141_392)),
    "b4": ((1.4, 1.8, 380), (19_341_616, 4_393_771_024)),
    "b5": ((1.6, 2.2, 456), (30_389_784, 10_266_384_752)),
    "b6": ((1.8, 2.6, 528), (43_040_704, 19_067_593_536)),
    "b7": ((2.0, 3.1, 600), (66_347_960, 37_745_884_192)),
}


def _make_divisible(value: float, divisor: int = 8) -> int:
    # torchvision/TF rounding: nearest multiple of 8, never below 90% of the scaled width
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _scaled_b0(width: float, depth: float, resolution: int):
    b0 = load_spec("efficientnet-b0")
    stages = [
        stage.model_copy(
            update={
                "out_channels": _make_divisible(stage.out_channels * width),
                "num_layers": math.ceil(stage.num_layers * depth),
            }
        )
        for stage in b0.stages
    ]
    return b0.replace(
        stem=b0.stem.model_copy(update={"out_channels": _make_divisible(32 * width)}),
        stages=[s.model_dump() for s in stages],
        head_channels=4 * stages[-1].out_channels,
        resolution_px=resolution,
    )


def _tiny(**stage_changes) -> dict:
    stage = {"kind": "mbconv", "num_layers": 1, "kernel_size": 3, "stride": 1, "expand_ratio": 1,
             "out_channels": 8, "se_ratio": 0.0, **stage_changes}
    return {"resolution_px": 32, "stem": {"out_channels": 8, "kernel_size": 3, "stride": 2}, "stages": [stage],
            "head_channels": 16, "num_classes": 10}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_reference_architectures(name: str) -> None:
    resolution, params, macs = REFERENCE[name]
    report = count_cost(load_spec(name))
    assert (report.resolution_px, report.params, report.macs) == (resolution, params, macs)
    assert report.flops == 2 * macs


@pytest.mark.parametrize("variant", sorted(B_SERIES))
def test_b_series_scaled_like_torchvision(variant: str) -> None:
    (width, depth, resolution), expected = B_SERIES[variant]
    report = count_cost(_scaled_b0(width, depth, resolution))
    assert (report.params, report.macs) == expected


def test_b0_parts() -> None:
    spec = load_spec("efficientnet-b0")
    report = count_cost(spec)
    assert report.stem.macs == 3 * 32 * 9 * 112 * 112  # 10,838,016
    assert report.stem.params == 3 * 32 * 9 + 2 * 32
    assert report.stem.output_shape == (32, 112, 112)
    assert [s.output_shape for s in report.stages] == [
        (16, 112, 112), (24, 56, 56), (40, 28, 28), (80, 14, 14), (112, 14, 14), (192, 7, 7), (320, 7, 7)
    ]
    assert [s.display for s in report.stages] == spec.display()
    assert [s.kind for s in report.stages] == ["mbconv"] * 7
    # head: 1x1 conv 320->1280 at 7x7, BN, classifier 1280->1000 with bias
    assert report.head.macs == 320 * 1280 * 49 + 1280 * 1000
    assert report.head.params == 320 * 1280 + 2 * 1280 + 1280 * 1000 + 1000
    assert report.head.output_shape == (1000,)
    parts = (report.stem, *report.stages, report.head)
    assert sum(p.macs for p in parts) == report.macs
    assert sum(p.params for p in parts) == report.params
    assert sum(p.activation_bytes for p in parts) == report.activation_bytes
    # stage 0 of B0: one MBConv1 block 32->16 with SE squeeze int(32 * 0.25) = 8, no residual
    stage0 = 32 * 9 + 64 + (32 * 8 + 8) + (8 * 32 + 32) + 32 * 16 + 32
    assert report.stages[0].params == stage0


def test_hand_counted_network() -> None:
    # stem 3->8 k3 s2 at 32 px -> 8x16x16; MBConv1 k3 8->8 (depthwise, project, residual); head 8->16; 10 classes
    report = count_cost(spec_from_dict(_tiny()))
    assert report.macs == 8 * 3 * 9 * 256 + 8 * 9 * 256 + 8 * 8 * 256 + 16 * 8 * 256 + 16 * 10
    assert report.params == (216 + 16) + (72 + 16 + 64 + 16) + (128 + 32) + (160 + 10)
    # outputs: stem conv/bn/act, dw/bn/act, pwl/bn, add (8x16x16 each), head conv/bn/act (16x16x16), pool, logits
    assert report.activation_bytes == 4 * (9 * 2048 + 3 * 4096 + 16 + 10)


def test_se_branch_counts() -> None:
    plain = count_cost(spec_from_dict(_tiny()))
    with_se = count_cost(spec_from_dict(_tiny(se_ratio=0.25)))
    # squeeze int(8 * 0.25) = 2: conv_reduce 8->2 and conv_expand 2->8, both 1x1 with bias at 1x1 spatial
    assert with_se.macs - plain.macs == 8 * 2 + 2 * 8
    assert with_se.params - plain.params == (8 * 2 + 2) + (2 * 8 + 8)
    # pool (8), reduce (2), act (2), expand (8), gate (8), multiply (8x16x16)
    assert with_se.activation_bytes - plain.activation_bytes == 4 * (8 + 2 + 2 + 8 + 8 + 2048)


def test_squeeze_width_never_zero() -> None:
    # int(8 * 0.1) = 0 -> max(1, ...) = 1
    plain = count_cost(spec_from_dict(_tiny()))
    with_se = count_cost(spec_from_dict(_tiny(se_ratio=0.1)))
    assert with_se.params - plain.params == (8 + 1) + (8 + 8)


def test_fused_expand_one_is_a_single_conv() -> None:
    report = count_cost(spec_from_dict(_tiny(kind="fused_mbconv", out_channels=12)))
    # k3 conv 8->12 at 16x16 and its BN; no projection, no residual (8 != 12)
    assert report.stages[0].macs == 12 * 8 * 9 * 256
    assert report.stages[0].params == 12 * 8 * 9 + 24
    assert report.stages[0].activation_bytes == 4 * 3 * 12 * 256


def test_batch_size_and_dtype_scale_only_activations() -> None:
    spec = load_spec("efficientnet-b0")
    base = count_cost(spec)
    scaled = count_cost(spec, batch_size=8, dtype_bytes=2)
    assert (scaled.macs, scaled.params) == (base.macs, base.params)
    assert scaled.activation_bytes == 4 * base.activation_bytes
    assert (scaled.batch_size, scaled.dtype_bytes) == (8, 2)


def test_resolution_override() -> None:
    spec = load_spec("efficientnet-b0")
    report = count_cost(spec, resolution_px=240)
    assert report.resolution_px == 240
    assert report.stages[-1].output_shape == (320, 8, 8)
    assert report.params == 5_288_548
    assert count_cost(spec.replace(resolution_px=240)) == report


def test_accepts_names_and_is_frozen() -> None:
    report = count_cost("efficientnet-b0")
    assert isinstance(report, CostReport)
    assert report.macs == 385_814_752
    with pytest.raises(AttributeError):
        report.macs = 0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"resolution_px": 0}, "resolution_px"),
        ({"resolution_px": 16}, "resolution_px"),  # below B0's total stride 32
        ({"resolution_px": 224.0}, "resolution_px"),
        ({"batch_size": 0}, "batch_size"),
        ({"dtype_bytes": True}, "dtype_bytes"),
    ],
)
def test_bad_arguments(kwargs: dict, path: str) -> None:
    with pytest.raises(SpecError) as info:
        count_cost(load_spec("efficientnet-b0"), **kwargs)
    assert info.value.path == path
    assert repr(next(iter(kwargs.values()))) in str(info.value)


def test_bad_name() -> None:
    with pytest.raises(SpecError, match="efficientnet-b9"):
        count_cost("efficientnet-b9")


def test_unknown_kind_is_a_plugin_error() -> None:
    spec = load_spec("efficientnet-b0")
    stage = spec.stages[0].model_copy(update={"kind": "not_a_kind"})
    with pytest.raises(PluginError, match="not_a_kind"):
        count_cost(spec.model_copy(update={"stages": (stage,)}))


@pytest.mark.parametrize("kernel_size", [3, 5, 7])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv_output_size_is_ceil(kernel_size: int, stride: int) -> None:
    for size in range(1, 301):
        torch_formula = (size + 2 * (kernel_size // 2) - kernel_size) // stride + 1
        assert conv_output_size(size, kernel_size, stride) == torch_formula == math.ceil(size / stride)


def test_fast_enough_for_every_trial() -> None:
    from nasgen.cost import _rules

    spec = load_spec("efficientnet-b0")

    def cold() -> None:
        _rules._STAGE_CACHE.clear()
        count_cost(spec)

    # CPU time of this process, so that other processes on a shared machine do not count
    cold_s = min(timeit.Timer(cold, timer=time.process_time).repeat(number=20, repeat=5)) / 20
    warm_s = min(timeit.Timer(lambda: count_cost(spec), timer=time.process_time).repeat(number=20, repeat=5)) / 20
    assert cold_s < 1e-3, f"count_cost(B0) took {cold_s * 1e3:.2f} ms without the stage cache"
    assert warm_s < cold_s


def test_stage_cache_gives_the_same_report() -> None:
    from nasgen.cost import _rules

    spec = load_spec("efficientnetv2-s")
    _rules._STAGE_CACHE.clear()
    cold = count_cost(spec)
    assert _rules._STAGE_CACHE
    assert count_cost(spec) == cold
    # a spec sharing all stages but the last reuses them and still counts the new one
    changed = spec.replace(stages=[*(s.model_dump() for s in spec.stages[:-1]),
                                   {**spec.stages[-1].model_dump(), "kernel_size": 5}])
    _rules._STAGE_CACHE.clear()
    expected = count_cost(changed)
    _rules._STAGE_CACHE.clear()
    count_cost(spec)
    assert count_cost(changed) == expected != cold


def test_torch_only_for_measuring() -> None:
    probe = (
        "import sys\nimport nasgen.cost as c\nc.count_cost('efficientnet-b0')\nc.graph_hash('efficientnet-b0')\n"
        "print('torch' in sys.modules, 'thop' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_measuring_names_are_lazy() -> None:
    import nasgen.cost

    assert {"measure_cost", "MeasuredCost"} <= set(dir(nasgen.cost))
    assert nasgen.cost.measure_cost.__module__ == "nasgen.cost._thop"
    with pytest.raises(AttributeError, match="no_such_name"):
        nasgen.cost.no_such_name  # noqa: B018
