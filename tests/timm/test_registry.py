"""nasgen architectures in timm's registry (issue 28, item 5): an explicit ``nasgen.timm.register()``, and the
timm entrypoint every exported model.py carries."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from timm_helpers import NO_TIMM

timm = pytest.importorskip("timm", reason=NO_TIMM)

import nasgen.timm  # noqa: E402
from nasgen.errors import PluginError, SpecError  # noqa: E402
from nasgen.exporting import import_model_code, render_model_code  # noqa: E402
from nasgen.nn import build_model  # noqa: E402
from nasgen.spec import builtin_architectures, load_spec  # noqa: E402


def test_importing_registers_nothing() -> None:
    code = "import timm, nasgen, nasgen.timm, nasgen.nn; print(timm.list_models('nasgen_*'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_register_every_builtin_and_create_it_through_timm() -> None:
    names = nasgen.timm.register()
    assert names == [nasgen.timm.registered_name(arch) for arch in builtin_architectures()]
    assert "nasgen_efficientnet_b0" in names and set(names) <= set(timm.list_models("nasgen_*"))
    assert nasgen.timm.register() == names  # again: the same entries, no warning, no error
    model = timm.create_model("nasgen_efficientnet_b0", pretrained=False, num_classes=10, drop_rate=0.3)
    spec = load_spec("efficientnet-b0").replace(num_classes=10, dropout=0.3)
    assert model.spec == spec and model.classifier.out_features == 10 and model.dropout.p == 0.3
    reference = build_model(spec)
    assert {k: v.shape for k, v in model.state_dict().items()} == {k: v.shape for k, v in reference.state_dict().items()}
    assert model.pretrained_cfg["input_size"] == (3, 224, 224) and model.pretrained_cfg["first_conv"] == "stem.conv"
    grey = timm.create_model("nasgen_efficientnet_b0", in_chans=1, num_classes=5)
    assert grey.stem.conv.in_channels == 1 and grey(torch.zeros(2, 1, 64, 64)).shape == (2, 5)
    assert timm.data.resolve_data_config({}, model=model)["crop_pct"] == 0.875


def test_what_timm_asks_that_nasgen_cannot_do() -> None:
    nasgen.timm.register("efficientnet-b0")
    with pytest.raises(SpecError, match="nasgen ships no pretrained weights"):
        timm.create_model("nasgen_efficientnet_b0", pretrained=True)
    with pytest.raises(TypeError, match=r"keywords a nasgen network does not take: \['global_pool'\]"):
        timm.create_model("nasgen_efficientnet_b0", global_pool="max")
    with pytest.raises(PluginError, match=r"resnet50 is already a timm model \(from timm.models.resnet\)"):
        nasgen.timm.register("efficientnet-b0", name="resnet50")
    other = load_spec("efficientnet-b0").replace(head_channels=640)
    with pytest.raises(PluginError, match="already registered with timm for another nasgen architecture"):
        nasgen.timm.register(other, name="nasgen_efficientnet_b0")


def test_a_searched_architecture_by_name(tmp_path) -> None:
    spec = load_spec("efficientnet-b0").replace(name="found by search", head_channels=640)
    assert nasgen.timm.register(spec) == ["nasgen_found_by_search"]
    assert timm.create_model("nasgen_found_by_search", num_classes=3).head.conv.out_channels == 640


def test_exported_model_py_is_a_timm_entrypoint(tmp_path) -> None:
    spec = load_spec("efficientnetv2-s").replace(name="v2s-export", resolution_px=64)
    path = tmp_path / "model.py"
    path.write_text(render_model_code(spec))
    module = import_model_code(path)
    assert "timm.models.register_model(model.nasgen_v2s_export)" in path.read_text()
    timm.models.register_model(module.nasgen_v2s_export)
    model = timm.create_model("nasgen_v2s_export", pretrained=False, num_classes=7)
    assert model.classifier.out_features == 7
    reference = build_model(spec.replace(num_classes=7))
    assert {k: v.shape for k, v in model.state_dict().items()} == {k: v.shape for k, v in reference.state_dict().items()}
    with pytest.raises(ValueError, match="no pretrained weights here"):
        timm.create_model("nasgen_v2s_export", pretrained=True)
