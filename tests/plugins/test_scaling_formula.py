"""Formula mode (EfficientNet §3.3): d = α^φ, w = β^φ, r = γ^φ; purity; bad input; the family."""

from __future__ import annotations

import math

import pytest
from nasgen_scaling import (
    family_table,
    parse_family,
    predicted_cost_ratio,
    round_channels,
    scale,
    scale_family,
)

from nasgen.cost import count_cost
from nasgen.errors import SpecError
from nasgen.spec import load_spec

B0_STAGES = [(16, 1), (24, 2), (40, 2), (80, 3), (112, 3), (192, 4), (320, 1)]


@pytest.mark.parametrize("phi", [1, 2, 3, 0.5])
def test_formula_scales_every_dimension(phi: float) -> None:
    b0 = load_spec("efficientnet-b0")
    spec = scale(b0, phi)
    d, w, r = 1.2**phi, 1.1**phi, 1.15**phi
    assert [(s.out_channels, s.num_layers) for s in spec.stages] == [
        (round_channels(c * w), math.ceil(n * d)) for c, n in B0_STAGES
    ]
    assert spec.stem.out_channels == round_channels(32 * w)
    assert spec.head_channels == round_channels(1280 * w)
    assert spec.resolution_px == math.floor(224 * r + 0.5)
    assert [(s.kernel_size, s.stride, s.expand_ratio, s.se_ratio) for s in spec.stages] == [
        (s.kernel_size, s.stride, s.expand_ratio, s.se_ratio) for s in b0.stages
    ]
    assert (spec.dropout, spec.drop_path_rate, spec.num_classes) == (0.2, 0.2, 1000)
    assert spec.name == f"efficientnet-b0-phi{phi:g}"


def test_phi_3_known_answer() -> None:
    spec = scale("efficientnet-b0", 3)
    assert spec.resolution_px == 341
    assert spec.stem.out_channels == 40 and spec.head_channels == 1704
    assert [s.num_layers for s in spec.stages] == [2, 4, 4, 6, 6, 7, 2]
    assert [s.out_channels for s in spec.stages] == [24, 32, 56, 104, 152, 256, 424]
    cost = count_cost(spec)
    assert (cost.params, cost.macs) == (16_350_296, 3_250_916_456)


def test_phi_zero_keeps_the_architecture() -> None:
    b0 = load_spec("efficientnet-b0")
    assert scale(b0, 0).model_dump(exclude={"name"}) == b0.model_dump(exclude={"name"})


def test_input_spec_is_never_mutated() -> None:
    b0 = load_spec("efficientnet-b0")
    before, digest = b0.model_dump(), b0.content_hash()
    results = [scale(b0, 2), scale(b0, 1, 1.3, 1.05, 1.2, dropout_per_phi=0.1), *scale_family(b0, [1, 2])]
    family_table(b0, [1.0, 2.0])
    assert b0.model_dump() == before and b0.content_hash() == digest
    assert all(result is not b0 and result.stages is not b0.stages for result in results)


def test_dropout_rises_per_phi_and_is_capped() -> None:
    b0 = load_spec("efficientnet-b0")
    assert scale(b0, 2, dropout_per_phi=0.05).dropout == pytest.approx(0.3)
    assert scale(b0, 10, dropout_per_phi=0.05).dropout == 0.5
    assert scale(b0.replace(dropout=0.6), 1, dropout_per_phi=0.1).dropout == 0.6  # never lowered


def test_resolution_divisor() -> None:
    assert scale("efficientnet-b0", 1, resolution_divisor=8).resolution_px == 256


@pytest.mark.parametrize(
    ("kwargs", "path", "message"),
    [
        ({"phi": -1}, "phi", "must be >= 0, got -1"),
        ({"phi": float("nan")}, "phi", "must be a finite number, got nan"),
        ({"phi": "2"}, "phi", "must be a finite number, got '2'"),
        ({"phi": True}, "phi", "must be a finite number, got True"),
        ({"phi": 1, "alpha": 0.9}, "alpha", "must be >= 1, got 0.9"),
        ({"phi": 1, "beta": 0.5}, "beta", "must be >= 1, got 0.5"),
        ({"phi": 1, "gamma": -1.15}, "gamma", "must be >= 1, got -1.15"),
        ({"phi": 1, "dropout_per_phi": -0.1}, "dropout_per_phi", "must be >= 0, got -0.1"),
    ],
)
def test_bad_arguments_name_the_value(kwargs: dict, path: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        scale("efficientnet-b0", **kwargs)
    assert info.value.path == path
    assert str(info.value) == f"{path}: {message}"


def test_scaled_resolution_stays_valid() -> None:
    small = load_spec("efficientnet-b0").replace(resolution_px=32)
    assert scale(small, 1).resolution_px == 37


def test_predicted_cost_ratio() -> None:
    assert predicted_cost_ratio(1) == pytest.approx(1.2 * 1.1**2 * 1.15**2)  # 1.920
    assert predicted_cost_ratio(3) == pytest.approx(1.92027**3, rel=1e-5)
    assert predicted_cost_ratio(0) == 1.0


def test_family_table_for_b0() -> None:
    rows = family_table("efficientnet-b0", parse_family("0-3"))
    assert [row.label for row in rows] == ["phi=0", "phi=1", "phi=2", "phi=3"]
    assert [(row.resolution_px, row.params, row.macs) for row in rows] == [
        (224, 5_288_548, 385_814_752),
        (258, 9_109_994, 992_629_472),
        (296, 12_255_408, 1_810_522_464),
        (341, 16_350_296, 3_250_916_456),
    ]
    assert [round(row.predicted_cost_ratio, 3) for row in rows] == [1.0, 1.92, 3.687, 7.081]
    assert [round(row.measured_cost_ratio, 3) for row in rows] == [1.0, 2.573, 4.693, 8.426]


def test_family_of_presets() -> None:
    rows = family_table("efficientnet-b0", parse_family("b1-b2"))
    assert [(row.label, row.phi, row.macs) for row in rows] == [("b1", None, 686_802_832), ("b2", None, 993_561_872)]
    assert rows[0].predicted_cost_ratio == pytest.approx(1.1 * (240 / 224) ** 2)


def test_scale_family_is_what_search_writes() -> None:
    family = scale_family("efficientnet-b0", [1, 2, 3])
    assert [spec.name for spec in family] == ["efficientnet-b0-phi1", "efficientnet-b0-phi2", "efficientnet-b0-phi3"]
    assert family[2] == scale("efficientnet-b0", 3)
    unnamed = load_spec("efficientnet-b0").replace(name=None)
    assert [spec.name for spec in scale_family(unnamed, [1])] == [f"{unnamed.short_hash()}-phi1"]
    with pytest.raises(SpecError, match="phis: must name at least one phi"):
        scale_family("efficientnet-b0", [])
    with pytest.raises(SpecError, match="phis: must be a sequence of numbers, got '1,2'"):
        scale_family("efficientnet-b0", "1,2")
    with pytest.raises(SpecError, match="phi: must be >= 0, got -2"):
        scale_family("efficientnet-b0", [1, -2])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0-7", [float(i) for i in range(8)]), ("1, 2,3", [1.0, 2.0, 3.0]), ("0.5", [0.5]),
     ("b0-b3", ["b0", "b1", "b2", "b3"]), ("B1,b4", ["b1", "b4"])],
)
def test_parse_family(text: str, expected: list) -> None:
    assert parse_family(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("3-1", "ascending range"), ("b1-4", "ascending range"), ("x", "must be phi values"), ("", "must name"),
     ("b1-b9", "unknown preset 'b8'"), ("1,-2", "must be >= 0")],
)
def test_parse_family_errors(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_family(text)


def test_public_names_reach_the_plugin() -> None:
    import nasgen
    import nasgen.hooks

    assert nasgen.scale is scale
    assert nasgen.scale_family is scale_family
    assert nasgen.hooks.scale_preset("efficientnet-b0", "b1").resolution_px == 240
    with pytest.raises(AttributeError):
        nasgen.hooks.no_such_name  # noqa: B018
