"""The supernet derived from a space: a branch per kind and variant holding the largest blocks, subnets that
extract into ordinary models with exactly the analytic cost and the supernet's logits, and shared storage."""

from __future__ import annotations

import random

import pytest
import torch

from nasgen.cost import count_cost, measure_cost
from nasgen.errors import SpecError
from nasgen.nn import EfficientNet, target_shapes
from nasgen.space import load_space, loads_space
from nasgen.spec import load_spec, register_stage_kind, unregister_stage_kind
from nasgen.supernet import Supernet

from supernet_helpers import DS_SPACE, SMALL_SPACE

SPACES = ("efficientnet-v1", "efficientnet-v2", "ds-mix")


@pytest.fixture(scope="module")
def supernets(ds_kind):
    """One supernet per space for the module (built on first use: the V2 one holds 76M parameters)."""
    cache: dict[str, Supernet] = {}

    def get(name: str) -> Supernet:
        if name not in cache:
            space = loads_space(DS_SPACE) if name == "ds-mix" else load_space(name)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                cache[name] = Supernet(space, num_classes=10, in_channels=3).eval()
        return cache[name]

    return get


def _check_subnet(supernet: Supernet, spec) -> None:
    """Extracted = ``build_model(spec)``'s names and exact analytic cost, and the supernet's own logits."""
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(7))
    with supernet.active(spec):
        logits = supernet(x)
    model = supernet.extract(spec).eval()
    assert type(model) is EfficientNet and model.spec == spec
    shapes = {name: tensor.shape for name, tensor in model.state_dict().items()}
    assert shapes == target_shapes(spec)  # build_model's names and shapes, in its order
    cost = count_cost(spec)
    assert sum(p.numel() for p in model.parameters()) == cost.params
    # thop's count (the cost convention's rules) of the extracted model at 32 px = the analytic count there
    assert measure_cost(model, resolution_px=32).macs == count_cost(spec, resolution_px=32).macs
    assert torch.allclose(model(x), logits, atol=1e-5, rtol=0)


@pytest.mark.parametrize(("name", "n_samples"), [("efficientnet-v1", 2), ("efficientnet-v2", 1), ("ds-mix", 6)])
def test_sampled_subnets_extract_exactly(supernets, name: str, n_samples: int) -> None:
    supernet = supernets(name)
    rng = random.Random(1)
    extremes = [supernet.smallest()] + ([supernet.largest()] if name == "ds-mix" else [])
    for spec in [*extremes, *(supernet.sample(rng) for _ in range(n_samples))]:
        _check_subnet(supernet, spec)


@pytest.mark.slow
@pytest.mark.parametrize("name", SPACES)
def test_fifty_sampled_subnets_extract_exactly(supernets, name: str) -> None:
    supernet = supernets(name)
    rng = random.Random(50)
    for spec in [supernet.largest(), *(supernet.sample(rng) for _ in range(50))]:
        _check_subnet(supernet, spec)


def test_b0_and_v2s_extract_from_the_builtin_spaces(supernets) -> None:
    for space, arch in (("efficientnet-v1", "efficientnet-b0"), ("efficientnet-v2", "efficientnetv2-s")):
        spec = load_spec(arch).replace(num_classes=10)
        _check_subnet(supernets(space), spec)
    b0 = supernets("efficientnet-v1").extract(load_spec("efficientnet-b0").replace(num_classes=10))
    assert sum(p.numel() for p in b0.parameters()) == 5_288_548 - 1280 * 990 - 990  # the reference, 10 classes


def test_branches_and_widths_are_derived_from_the_space(supernets) -> None:
    v1, v2 = supernets("efficientnet-v1"), supernets("efficientnet-v2")
    assert [list(stage) for stage in v1.stages] == [["mbconv"]] * 7  # expansion 1, 4 and 6 share one branch
    assert [list(stage) for stage in v2.stages] == [["fused_mbconv"], *[["fused_mbconv", "mbconv"]] * 3,
                                                     ["mbconv"], ["mbconv"]]  # fmt: skip
    state = v1.state_dict()
    # stage 0: 1-2 layers after a stem of at most 32 channels, expand 6, kernel 5, SE 0.25 of the block input
    assert state["stages.0.mbconv.0.conv_pw.weight"].shape == (192, 32, 1, 1)
    assert state["stages.0.mbconv.0.conv_dw.weight"].shape == (192, 1, 5, 5)
    assert state["stages.0.mbconv.0.se.conv_reduce.weight"].shape == (8, 192, 1, 1)
    assert "stages.0.mbconv.2.conv_dw.weight" not in state and "stages.0.mbconv.1.conv_dw.weight" in state
    # stage 5 follows the optional stage 4 (up to 128 wide) or stage 3 (up to 96): its first block takes 128
    assert state["stages.5.mbconv.0.conv_pw.weight"].shape == (768, 128, 1, 1)
    assert state["stages.5.mbconv.1.conv_pw.weight"].shape == (1344, 224, 1, 1)
    assert state["head.conv.weight"].shape == (1280, 320, 1, 1)  # after stage 6 (320) or stage 5 (224)
    assert state["classifier.weight"].shape == (10, 1280)
    assert v2.state_dict()["stages.3.fused_mbconv.7.conv_exp.weight"].shape == (960, 160, 5, 5)


def test_an_expansion_the_largest_blocks_cannot_hold_gets_its_own_branch() -> None:
    # Fused-MBConv at expansion 1 is one 3x3 conv 16 -> 48; at expansion 2 the hidden width is only 32
    text = SMALL_SPACE.read_text().replace("kind: [mbconv, fused_mbconv]", "kind: fused_mbconv").replace(
        "expand_ratio: [4, 6]\n  out_channels: [16, 24]", "expand_ratio: [1, 2]\n  out_channels: [16, 48]")
    supernet = Supernet(loads_space(text)).eval()
    assert list(supernet.stages[1]) == ["fused_mbconv", "fused_mbconv-e1"]
    assert supernet.stages[1]["fused_mbconv-e1"][0].conv_exp.weight.shape == (48, 16, 3, 3)
    x = torch.randn(2, 1, 16, 16)
    for ratio in (1, 2):
        stages = [stage.model_dump() for stage in supernet.largest().stages]
        stages[1].update(expand_ratio=ratio)
        spec = supernet.largest().replace(stages=stages)
        with supernet.active(spec):
            logits = supernet(x)
        assert torch.allclose(supernet.extract(spec).eval()(x), logits, atol=1e-5, rtol=0)


def test_extremes_and_samples_belong_to_the_space(supernets) -> None:
    supernet = supernets("efficientnet-v1")
    smallest, largest = supernet.smallest(), supernet.largest()
    assert (count_cost(smallest).macs, count_cost(largest).macs) == supernet.space.macs_range(num_classes=10)
    first = supernet.sample(random.Random(3))
    assert first == supernet.sample(random.Random(3)) and supernet.space.contains(first)


def test_two_subnets_with_a_common_prefix_share_its_storage() -> None:
    supernet = Supernet(load_space(SMALL_SPACE))
    a = supernet.smallest()
    stages = [stage.model_dump() for stage in a.stages]
    stages[1].update(num_layers=2, out_channels=24)
    b = a.replace(stages=stages, head_channels=128)
    shared_a, shared_b = supernet.shared_tensors(a), supernet.shared_tensors(b)
    stored = supernet.stages[0]["mbconv"][0].conv_dw.weight
    for name in ("stages.0.0.conv_dw.weight", "stem.conv.weight", "stages.1.0.conv_pw.weight"):
        assert shared_a[name].data_ptr() == shared_b[name].data_ptr(), name
    assert shared_a["stages.0.0.conv_dw.weight"].untyped_storage().data_ptr() == stored.untyped_storage().data_ptr()
    # training subnet a moves exactly the weights it is cut from
    supernet.train()
    with supernet.active(a):
        supernet(torch.randn(4, 1, 16, 16)).square().sum().backward()
    grad = supernet.stages[1]["mbconv"][0].conv_pw.weight.grad
    width = a.stages[1].expand_ratio * a.stages[0].out_channels
    assert grad[:width, : a.stages[0].out_channels].abs().sum() > 0
    assert grad[width:].abs().sum() == 0 and grad[:, a.stages[0].out_channels :].abs().sum() == 0
    assert supernet.stages[1]["mbconv"][1].conv_pw.weight.grad is None  # b's second block: untouched by a


def test_a_kind_without_slicing_rule_is_refused_by_its_path() -> None:
    register_stage_kind("noslice_conv", owner="test")
    try:
        text = SMALL_SPACE.read_text().replace("kind: [mbconv, fused_mbconv]", "kind: [mbconv, noslice_conv]")
        with pytest.raises(SpecError) as err:
            Supernet(loads_space(text))
        assert str(err.value) == ("stages.1.kind: block kind 'noslice_conv' has no slicing rule, "
                                  "a supernet cannot share it")  # fmt: skip
    finally:
        unregister_stage_kind("noslice_conv")


def test_bad_subnets_are_refused() -> None:
    supernet = Supernet(load_space(SMALL_SPACE))
    with pytest.raises(RuntimeError, match="no subnet is active"):
        supernet(torch.zeros(1, 1, 16, 16))
    with pytest.raises(SpecError, match=r"^num_classes: 3 differs from the supernet's 10$"):
        supernet.set_active(supernet.smallest().replace(num_classes=3))
    with pytest.raises(SpecError, match="not in the search space"):
        supernet.extract(load_spec("efficientnet-b0").replace(num_classes=10, in_channels=1))
