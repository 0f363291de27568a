"""timm key scheme (read from timm's source; timm itself is not installed)."""

from __future__ import annotations

import pytest
import torch

from nasgen.errors import SpecError
from nasgen.nn import build_model, from_timm_state_dict, timm_key_map
from nasgen.spec import ArchSpec, load_spec


def test_b0_keys_follow_timm_block_types() -> None:
    key_map = timm_key_map(load_spec("efficientnet-b0"))
    # stem, head and classifier (timm EfficientNet.__init__)
    assert key_map["conv_stem.weight"] == "stem.conv.weight"
    assert key_map["bn1.running_mean"] == "stem.bn.running_mean"
    assert key_map["conv_head.weight"] == "head.conv.weight"
    assert key_map["bn2.num_batches_tracked"] == "head.bn.num_batches_tracked"
    assert key_map["classifier.bias"] == "classifier.bias"
    # stage 0 is timm "ds" (DepthwiseSeparableConv): conv_dw, bn1, se, conv_pw, bn2
    assert key_map["blocks.0.0.bn1.weight"] == "stages.0.0.bn2.weight"
    assert key_map["blocks.0.0.conv_pw.weight"] == "stages.0.0.conv_pwl.weight"
    assert key_map["blocks.0.0.bn2.running_var"] == "stages.0.0.bn3.running_var"
    # later stages are "ir" (InvertedResidual): identical names
    assert key_map["blocks.5.3.se.conv_expand.bias"] == "stages.5.3.se.conv_expand.bias"
    assert key_map["blocks.1.0.conv_pw.weight"] == "stages.1.0.conv_pw.weight"
    assert len(key_map) == len(build_model("efficientnet-b0").state_dict())


def test_v2s_keys_follow_timm_block_types() -> None:
    key_map = timm_key_map(load_spec("efficientnetv2-s"))
    assert key_map["blocks.0.1.conv.weight"] == "stages.0.1.conv_exp.weight"  # "cn" ConvBnAct
    assert key_map["blocks.1.0.conv_exp.weight"] == "stages.1.0.conv_exp.weight"  # "er" EdgeResidual
    assert key_map["blocks.1.3.bn2.bias"] == "stages.1.3.bn2.bias"
    assert key_map["blocks.5.14.conv_pwl.weight"] == "stages.5.14.conv_pwl.weight"


@pytest.mark.parametrize("name", ["efficientnet-b0", "efficientnetv2-s"])
def test_round_trip_through_timm_names(name: str) -> None:
    source = build_model(name)
    key_map = timm_key_map(source.spec)
    ours_to_timm = {ours: theirs for theirs, ours in key_map.items()}
    assert len(ours_to_timm) == len(key_map) and set(ours_to_timm) == set(source.state_dict())
    timm_state = {ours_to_timm[k]: v for k, v in source.state_dict().items()}
    loaded = from_timm_state_dict(timm_state, source.spec).state_dict()
    for key, value in source.state_dict().items():
        assert torch.equal(loaded[key], value), key


def test_timm_scheme_rejects_what_timm_cannot_hold(tiny_spec: ArchSpec) -> None:
    se_single = tiny_spec.model_dump(mode="json")
    se_single["stages"][0]["se_ratio"] = 0.25
    with pytest.raises(SpecError, match=r"stages\.0\.se_ratio: timm's single-conv block \(cn\) has no SE, got se_ratio 0.25"):
        timm_key_map(tiny_spec.replace(stages=se_single["stages"]))
    state = {k: v for k, v in build_model(tiny_spec).state_dict().items()}
    with pytest.raises(SpecError, match=r"spec: state dict does not match the spec; missing: conv_stem\.weight"):
        from_timm_state_dict(state, tiny_spec)
