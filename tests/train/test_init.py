"""Fine-tuning from trained weights (issue 28, item 4): ``init`` loads every tensor whose name and shape match
(nasgen's, timm's or torchvision's names), never the classifier, adapts an RGB stem to grey input, reports what
it did, trains the loaded body slower than the new head; ``inherit:`` slices a larger trained architecture."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from nasgen.config import FullTrainConfig
from nasgen.errors import TrainError
from nasgen.nn import build_model, inherit_state_dict, sort_channels, timm_key_map
from nasgen.spec import save_spec, spec_from_dict
from nasgen.train import init_model, make_optimizer

BIG = {
    "name": "big", "in_channels": 3, "resolution_px": 32, "stem": {"out_channels": 16},
    "stages": [
        {"kind": "fused_mbconv", "num_layers": 2, "kernel_size": 3, "stride": 1, "expand_ratio": 1, "out_channels": 16},
        {"kind": "mbconv", "num_layers": 3, "kernel_size": 5, "stride": 2, "expand_ratio": 6, "out_channels": 24,
         "se_ratio": 0.25},
        {"kind": "mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 6, "out_channels": 32,
         "se_ratio": 0.25},
    ],
    "head_channels": 64, "num_classes": 10,
}  # fmt: skip


def _spec(**changes):
    return spec_from_dict({**BIG, **changes})


def _trained(spec, seed=0):
    """A seeded network with BatchNorm statistics and weights that differ from a fresh one's."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        model = build_model(spec)
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.weight.uniform_(0.5, 1.5)
    return model


def _fresh(spec):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(99)
        return build_model(spec)


def test_nasgen_weights_load_by_name_with_a_new_head(tmp_path):
    source = _trained(_spec())
    save_file(source.state_dict(), str(tmp_path / "w.safetensors"))
    model = _fresh(_spec(num_classes=5))
    head = model.classifier.weight.clone()
    report = init_model(model, str(tmp_path / "w.safetensors"))
    assert report.naming == "nasgen" and not report.skipped
    assert set(report.reinitialised) == {"classifier.weight", "classifier.bias"}
    assert set(report.reinitialised.values()) == {"a new head for 5 classes"}
    assert len(report.loaded) == len(source.state_dict()) - 2
    assert report.loaded_params == sum(p.numel() for n, p in source.named_parameters() if not n.startswith("classif"))
    for name in report.loaded:
        assert torch.equal(model.state_dict()[name], source.state_dict()[name]), name
    assert torch.equal(model.classifier.weight, head)  # the new head keeps its fresh draw
    assert report.lines()[0].startswith(f"init: loaded {len(report.loaded)} tensors (")
    assert "init: re-initialised (a new head for 5 classes): classifier.weight, classifier.bias" in report.lines()
    # the same number of classes: still a new head (fine-tuning is for other classes)
    same = init_model(_fresh(_spec()), str(tmp_path / "w.safetensors"))
    assert set(same.reinitialised) == {"classifier.weight", "classifier.bias"}


def test_timm_names_and_an_rgb_stem_for_grey_images(tmp_path):
    spec = _spec()
    source = _trained(spec)
    theirs = {timm: source.state_dict()[ours] for timm, ours in timm_key_map(spec).items()}
    torch.save({"state_dict": theirs, "epoch": 3}, tmp_path / "timm.pth")  # timm's checkpoint layout
    model = _fresh(spec.replace(in_channels=1, num_classes=4))
    report = init_model(model, str(tmp_path / "timm.pth"))
    assert report.naming == "timm" and "stem.conv.weight" in report.loaded
    assert report.adapted == {"stem.conv.weight": "RGB filters summed for 1-channel input (timm's adapt_input_conv)"}
    torch.testing.assert_close(model.stem.conv.weight, source.stem.conv.weight.sum(1, keepdim=True))
    torch.testing.assert_close(model.stages[2][1].conv_dw.weight, source.stages[2][1].conv_dw.weight)


def test_torchvision_names():
    torchvision = pytest.importorskip("torchvision")
    theirs = torchvision.models.efficientnet_b0(weights=None)
    from nasgen.spec import load_spec

    model = _fresh(load_spec("efficientnet-b0").replace(num_classes=3, resolution_px=64))
    report = init_model(model, _save(theirs.state_dict()))
    assert report.naming == "torchvision" and set(report.reinitialised) == {"classifier.weight", "classifier.bias"}
    torch.testing.assert_close(model.stages[5][3].conv_dw.weight, theirs.features[6][3].block[1][0].weight)


def _save(state, path=None):
    import tempfile

    path = path or tempfile.mktemp(suffix=".safetensors")
    save_file({k: v.contiguous() for k, v in state.items()}, path)
    return path


def test_a_different_architecture_loads_what_fits(tmp_path):
    source = _trained(_spec())
    narrower = _spec(head_channels=48)
    report = init_model(_fresh(narrower), _save(source.state_dict(), str(tmp_path / "w.safetensors")))
    assert report.reinitialised["head.conv.weight"] == "shape differs from the file's"
    assert {"head.bn.weight", "head.bn.running_var"} <= set(report.reinitialised)
    assert "stages.1.2.conv_pw.weight" in report.loaded


def test_body_slower_than_head():
    model = _fresh(_spec())
    body = {name: 0.1 for name, _ in model.named_parameters() if not name.startswith("classifier.")}
    config = FullTrainConfig(epochs=1, lr=0.01).recipe(32, 100)
    groups = make_optimizer(model, config, body).param_groups
    head = {id(p) for p in model.classifier.parameters()}
    assert [group["lr"] for group in groups] == [0.01, 0.01, 0.001, 0.001]
    assert {id(p) for group in groups[:2] for p in group["params"]} == head
    assert FullTrainConfig(epochs=1).pretrained_lr_ratio == 0.1
    assert [g["lr"] for g in make_optimizer(model, config).param_groups] == [0.01, 0.01]  # from scratch: as before


def test_inherit_slices_a_larger_trained_architecture(tmp_path):
    big = _spec()
    source = _trained(big)
    folder = tmp_path / "big-run"
    folder.mkdir()
    save_spec(big, folder / "arch.yaml")
    save_file(source.state_dict(), str(folder / "weights.safetensors"))
    small = _spec(name="small", head_channels=48, num_classes=5, stages=[
        {"kind": "fused_mbconv", "num_layers": 1, "kernel_size": 3, "stride": 1, "expand_ratio": 1, "out_channels": 16},
        {"kind": "mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 4, "out_channels": 24,
         "se_ratio": 0.25},
        {"kind": "mbconv", "num_layers": 1, "kernel_size": 3, "stride": 2, "expand_ratio": 3, "out_channels": 32},
    ])  # fmt: skip
    model = _fresh(small)
    report = init_model(model, f"inherit:{folder}")
    assert report.naming.startswith("inherited (big sliced")
    assert set(report.reinitialised) == {"classifier.weight", "classifier.bias"}
    expected = inherit_state_dict(big, sort_channels(_trained(big)).state_dict(), small)
    for name in report.loaded:
        assert torch.equal(model.state_dict()[name], expected[name]), name
    # a searched architecture with a stage removed: the first source stages that hold it
    two = _spec(num_classes=5, stages=[BIG["stages"][0], BIG["stages"][2]])
    assert "stages.1.1.conv_dw.weight" in init_model(_fresh(two), f"inherit:{folder / 'weights.safetensors'}").loaded


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"fc.weight": torch.zeros(2, 2)}, "no tensor is named like nasgen's, timm's or torchvision's EfficientNet"),
        ({"stem.conv.weight": torch.zeros(7, 7)}, "no tensor matches the architecture by name and shape"),
    ],
)
def test_files_that_match_nothing(tmp_path, content, message):
    path = _save(content, str(tmp_path / "bad.safetensors"))
    with pytest.raises(TrainError, match=message):
        init_model(_fresh(_spec()), path)


def test_unreadable_files(tmp_path):
    path = _save(_trained(_spec()).state_dict(), str(tmp_path / "w.safetensors"))
    (tmp_path / "cut.safetensors").write_bytes(open(path, "rb").read()[:5000])
    torch.save({"stem.conv.weight": torch.zeros(1)}, tmp_path / "pickle.safetensors")
    cases = {"cut.safetensors": "not a complete safetensors file", "pickle.safetensors": "named .safetensors but it is",
             "missing.pt": "no such file"}  # fmt: skip
    for name, message in cases.items():
        with pytest.raises(TrainError, match=f"{tmp_path / name}: {message}"):
            init_model(_fresh(_spec()), str(tmp_path / name))
    with pytest.raises(TrainError, match="inherit: needs the larger architecture's arch.yaml beside its weights"):
        init_model(_fresh(_spec()), f"inherit:{path}")
