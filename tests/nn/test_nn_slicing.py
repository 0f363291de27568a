"""Weight slicing (nasgen/nn/_slicing.py): channel sorting preserves the function, inherited weights are the
sub-network of a larger net, and what is not a sub-architecture is refused by its field path."""

from __future__ import annotations

import pytest
import torch

from nasgen.errors import SpecError
from nasgen.nn import (
    MBCONV_SLICING,
    build_model,
    check_sub_architecture,
    inherit_state_dict,
    slice_tensor,
    sort_block_channels,
    sort_channels,
    target_shapes,
)
from nasgen.spec import ArchSpec, register_stage_kind, spec_from_dict, unregister_stage_kind

BIG = {
    "in_channels": 3, "resolution_px": 32,
    "stem": {"out_channels": 16, "kernel_size": 5, "stride": 2},
    "stages": [
        {"kind": "fused_mbconv", "num_layers": 2, "kernel_size": 5, "stride": 1, "expand_ratio": 1, "out_channels": 16},
        {"kind": "fused_mbconv", "num_layers": 3, "kernel_size": 5, "stride": 2, "expand_ratio": 4,
         "out_channels": 24, "se_ratio": 0.25},
        {"kind": "mbconv", "num_layers": 2, "kernel_size": 5, "stride": 1, "expand_ratio": 1, "out_channels": 24,
         "se_ratio": 0.25},
        {"kind": "mbconv", "num_layers": 3, "kernel_size": 7, "stride": 2, "expand_ratio": 6, "out_channels": 40,
         "se_ratio": 0.25},
    ],
    "head_channels": 96, "num_classes": 10, "dropout": 0.0, "drop_path_rate": 0.0,
}  # fmt: skip

SMALL_STAGES = [
    {"kind": "fused_mbconv", "num_layers": 1, "kernel_size": 3, "stride": 1, "expand_ratio": 1, "out_channels": 8},
    {"kind": "fused_mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 3, "out_channels": 16,
     "se_ratio": 0.25},
    {"kind": "mbconv", "num_layers": 1, "kernel_size": 3, "stride": 1, "expand_ratio": 1, "out_channels": 16,
     "se_ratio": 0.25},
    {"kind": "mbconv", "num_layers": 2, "kernel_size": 5, "stride": 2, "expand_ratio": 4, "out_channels": 32,
     "se_ratio": 0.25},
]  # fmt: skip
"""A sub-architecture of BIG whose every block has a residual exactly where BIG's has one (a block's residual
depends on its widths, so a slice of a residual block into one without is another function), and SE where BIG
has SE (an SE with zero weights gates by one half, it is not absent)."""


def _spec(**changes) -> ArchSpec:
    return spec_from_dict({**BIG, **changes})


def _small() -> ArchSpec:
    return _spec(stem={"out_channels": 8, "kernel_size": 3, "stride": 2}, stages=SMALL_STAGES, head_channels=64)


def _randomized(spec: ArchSpec, seed: int) -> torch.nn.Module:
    """A model with random BatchNorm affine weights and statistics, so every channel matters differently."""
    generator = torch.Generator().manual_seed(seed)
    model = build_model(spec)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.copy_(torch.rand(module.weight.shape, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)
                module.running_mean.copy_(torch.randn(module.running_mean.shape, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(module.running_var.shape, generator=generator) + 0.5)
    return model.eval()


def test_sort_channels_preserves_logits_and_puts_important_channels_first() -> None:
    model = _randomized(_spec(), 0)
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    before = model(x)
    block = model.stages[3][1]  # MBConv e6 with SE: hidden and SE groups
    old_pwl = block.conv_pwl.weight.detach().clone()
    assert sort_channels(model) is model
    after = model(x)
    assert torch.allclose(before, after, atol=1e-5, rtol=0)
    importance = block.conv_pwl.weight.detach().abs().sum(dim=(0, 2, 3))
    assert torch.all(importance[:-1] >= importance[1:])  # most important hidden channel first
    assert not torch.equal(block.conv_pwl.weight, old_pwl)  # a real reordering, not a no-op
    # the same columns, permuted: the sorted importances are the old ones in descending order
    old = old_pwl.abs().sum(dim=(0, 2, 3))
    assert torch.allclose(importance, torch.sort(old, descending=True).values, rtol=1e-6, atol=0)
    se = block.se.conv_expand.weight.detach().abs().sum(dim=(0, 2, 3))
    assert torch.all(se[:-1] >= se[1:])


def test_expansion_one_is_cut_from_a_larger_expansion() -> None:
    big = build_model(_spec())
    stages = [dict(stage) for stage in BIG["stages"]]
    stages[3]["expand_ratio"] = 1  # MBConv without expansion conv: the first 24 depthwise and projection channels
    dst = _spec(stages=stages)
    state = inherit_state_dict(big.spec, big.state_dict(), dst)
    assert "stages.3.0.conv_pw.weight" not in state
    assert torch.equal(state["stages.3.0.conv_dw.weight"], big.stages[3][0].conv_dw.weight[:24])
    assert torch.equal(state["stages.3.1.conv_pwl.weight"], big.stages[3][1].conv_pwl.weight[:, :40])
    build_model(dst).load_state_dict(state)  # strict
    stages[1]["expand_ratio"], stages[1]["out_channels"] = 1, 24  # Fused-MBConv e1: conv_exp 24 <- 16 of 64 rows
    state = inherit_state_dict(big.spec, big.state_dict(), _spec(stages=stages))
    assert torch.equal(state["stages.1.0.conv_exp.weight"], big.stages[1][0].conv_exp.weight[:24])


def test_sort_counts_the_groups_each_variant_has() -> None:
    model = build_model(_spec())
    # MBConv e6 + SE: hidden and SE; MBConv e1 + SE: SE only (its depthwise channels are its input's)
    assert sort_block_channels(model.stages[3][0], MBCONV_SLICING) == 2
    assert sort_block_channels(model.stages[2][0], MBCONV_SLICING) == 1


def test_slice_tensor_is_a_prefix_and_a_centred_kernel_view() -> None:
    weight = torch.arange(2 * 3 * 5 * 5, dtype=torch.float32).reshape(2, 3, 5, 5)
    cut = slice_tensor(weight, (1, 2, 3, 3))
    assert cut.data_ptr() == weight[0, 0, 1, 1].data_ptr()  # a view into the source
    assert torch.equal(cut, weight[:1, :2, 1:4, 1:4])
    assert torch.equal(slice_tensor(torch.arange(6.0), (4,)), torch.arange(4.0))
    with pytest.raises(SpecError, match="no centre"):
        slice_tensor(weight, (1, 1, 4, 4))
    with pytest.raises(SpecError, match=r"needs shape \(3, 3, 5, 5\)"):
        slice_tensor(weight, (3, 3, 5, 5))


def _embed(src_spec: ArchSpec, dst_state: dict[str, torch.Tensor], stage_map: list[int]) -> dict[str, torch.Tensor]:
    """The inverse of slicing: ``dst_state`` written into a zero net of ``src_spec`` (running variances 1).

    Every extra channel, kernel tap and block of that net is then inert (BatchNorm γ = β = 0 zeroes it, a
    residual block with a zero branch is the identity), so it computes what the smaller net does.
    """
    src = {}
    for name, shape in target_shapes(src_spec).items():
        src[name] = torch.ones(shape) if name.endswith("running_var") else torch.zeros(shape, dtype=torch.float32)
    src = {k: v.long() if k.endswith("num_batches_tracked") else v for k, v in src.items()}
    inverse = {m: j for j, m in enumerate(stage_map)}
    for name in src:
        parts = name.split(".")
        if parts[0] == "stages":
            j = inverse.get(int(parts[1]))
            dst_name = None if j is None else ".".join(["stages", str(j), *parts[2:]])
        else:
            dst_name = name
        if dst_name in dst_state:
            view = slice_tensor(src[name], dst_state[dst_name].shape)
            view.copy_(dst_state[dst_name])
    return src


def test_inherited_weights_are_exactly_the_smaller_net_inside_the_larger() -> None:
    small = _small()
    small_model = _randomized(small, 2)
    big = _spec()
    embedded = _embed(big, small_model.state_dict(), [0, 1, 2, 3])
    big_model = build_model(big).eval()
    big_model.load_state_dict(embedded)
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    # the larger net holding the smaller one's weights (zeros elsewhere) computes the smaller one's function
    assert torch.allclose(big_model(x), small_model(x), atol=1e-5, rtol=0)
    state = inherit_state_dict(big, embedded, small)
    assert list(state) == list(small_model.state_dict())
    assert all(torch.equal(state[k], v) for k, v in small_model.state_dict().items())
    # inherited tensors are copies: the source is never shared or changed
    assert all(t.is_contiguous() for t in state.values())
    state["stem.conv.weight"].add_(1.0)
    assert torch.equal(slice_tensor(embedded["stem.conv.weight"], (8, 3, 3, 3)), small_model.stem.conv.weight)


def test_a_block_without_se_leaves_the_source_se_out() -> None:
    big = build_model(_spec())
    stages = [dict(stage) for stage in SMALL_STAGES]
    stages[1]["se_ratio"] = 0.0
    dst = _spec(stages=stages)
    state = inherit_state_dict(big.spec, big.state_dict(), dst)
    assert not any(".se." in name for name in state if name.startswith("stages.1."))
    build_model(dst).load_state_dict(state)  # strict


def test_stage_map_skips_a_source_stage() -> None:
    big = _spec()
    dst = _spec(stages=[SMALL_STAGES[0], SMALL_STAGES[1], SMALL_STAGES[3]], stem={"out_channels": 8, "kernel_size": 3})
    model = _randomized(dst, 4)
    embedded = _embed(big, model.state_dict(), [0, 1, 3])
    state = inherit_state_dict(big, embedded, dst, stage_map=[0, 1, 3])
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    with pytest.raises(SpecError, match=r"^stages: the architecture has 3 stages and the source 4; pass stage_map"):
        inherit_state_dict(big, embedded, dst)
    with pytest.raises(SpecError, match=r"stage_map must give 3 increasing"):
        inherit_state_dict(big, embedded, dst, stage_map=[0, 3, 1])


def test_inherit_of_itself_is_the_identity_and_a_new_head_keeps_its_own_classifier() -> None:
    model = _randomized(_spec(), 5)
    state = inherit_state_dict(model.spec, model.state_dict(), model.spec)
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    other = _spec(num_classes=3)
    state = inherit_state_dict(model.spec, model.state_dict(), other)
    missing = build_model(other).load_state_dict(state, strict=False)
    assert missing.missing_keys == ["classifier.weight", "classifier.bias"] and not missing.unexpected_keys


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s[3].update(kind="fused_mbconv"),
         r"^stages\.3\.kind: kind 'fused_mbconv' differs from 'mbconv' in the source$"),
        (lambda s: s[1].update(num_layers=4), r"^stages\.1\.num_layers: 4 > 3 in the source$"),
        (lambda s: s[2].update(out_channels=32), r"^stages\.2\.out_channels: 32 > 24 in the source$"),
        (lambda s: s[0].update(se_ratio=0.25), r"^stages\.0\.se_ratio: 0\.25 but the source has no SE$"),
        (lambda s: s[1].update(expand_ratio=6), r"^stages\.1\.expand_ratio: 6 > 4 in the source$"),
    ],
)
def test_not_a_sub_architecture_names_the_field(change, message) -> None:
    stages = [dict(stage) for stage in BIG["stages"]]
    change(stages)
    with pytest.raises(SpecError, match=message):
        check_sub_architecture(_spec(), _spec(stages=stages))


def test_larger_kernel_stem_and_head_are_refused() -> None:
    big = _spec(stages=[{**s, "kernel_size": 5} for s in BIG["stages"]])
    stages = [{**s, "kernel_size": 5} for s in BIG["stages"]]
    stages[3]["kernel_size"] = 7
    with pytest.raises(SpecError, match=r"^stages\.3\.kernel_size: 7 > 5 in the source$"):
        inherit_state_dict(big, build_model(big).state_dict(), _spec(stages=stages))
    with pytest.raises(SpecError, match=r"^head_channels: 128 > 96 in the source$"):
        check_sub_architecture(_spec(), _spec(head_channels=128))
    with pytest.raises(SpecError, match=r"^in_channels: 1 differs from 3 in the source$"):
        check_sub_architecture(_spec(), _spec(in_channels=1))


def test_a_kind_without_slicing_rule_cannot_be_shared() -> None:
    register_stage_kind("noslice_conv", owner="test")
    try:
        stage = {"kind": "noslice_conv", "num_layers": 1, "kernel_size": 3, "stride": 1, "expand_ratio": 1,
                 "out_channels": 16}  # fmt: skip
        spec = _spec(stages=[stage])
        with pytest.raises(SpecError, match=r"^stages\.0\.kind: block kind 'noslice_conv' has no slicing rule, "
                                            r"a supernet cannot share it$"):  # fmt: skip
            inherit_state_dict(spec, {}, spec)
    finally:
        unregister_stage_kind("noslice_conv")


def test_b0_sorted_then_cut_keeps_its_shapes() -> None:
    b0 = sort_channels(build_model("efficientnet-b0"))
    stages = [stage.model_dump() for stage in b0.spec.stages]
    stages[5].update(num_layers=2, kernel_size=3, expand_ratio=4)
    small = b0.spec.replace(stages=stages, head_channels=960)
    state = inherit_state_dict(b0.spec, b0.state_dict(), small)
    build_model(small).load_state_dict(state)  # strict: every name and shape of the smaller B0
    assert state["stages.5.1.conv_dw.weight"].shape == (192 * 4, 1, 3, 3)
    # the centre of B0's 5x5 depthwise kernel, of its first 768 (most important) hidden channels
    assert torch.equal(state["stages.5.1.conv_dw.weight"], b0.stages[5][1].conv_dw.weight[:768, :, 1:4, 1:4])
