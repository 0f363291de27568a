"""Exports carry their data config (issue 19): safetensors metadata, manifest.json and model.py's preprocess.

The round trip trains a tiny network on real images, exports it, and classifies raw uint8 validation images
in a fresh interpreter from the exported files alone (no nasgen import) at the training run's accuracy.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from export_helpers import tiny_spec, write_training_dir
from safetensors import safe_open

import nasgen
from nasgen.data import DataConfig, load_dataset, read_safetensors_metadata, split
from nasgen.errors import DataError, ExportError
from nasgen.exporting._preprocess import render_preprocess_code
from nasgen.spec import loads_spec
from nasgen.train import train

TINY = """\
name: tiny-fmnist
in_channels: 1
resolution_px: 32
stem: {out_channels: 8, kernel_size: 3, stride: 2}
stages:
- {kind: fused_mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 16}
- {kind: mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 24, se_ratio: 0.25}
head_channels: 32
num_classes: 10
"""

# Loads ONLY the exported files: nasgen is made unimportable, model.py is imported from its path.
_CLASSIFY = textwrap.dedent(
    """
    import importlib.util, json, sys
    sys.modules["nasgen"] = None  # any `import nasgen` now fails
    import numpy as np, torch
    from safetensors.torch import load_file

    folder, images_path, labels_path = sys.argv[1:4]
    spec = importlib.util.spec_from_file_location("exported_model", folder + "/model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build()
    model.load_state_dict(load_file(folder + "/weights.safetensors"))
    model.eval()
    images = torch.from_numpy(np.load(images_path))  # uint8 (N, C, H, W), as read from disk
    labels = torch.from_numpy(np.load(labels_path))
    with torch.no_grad():
        predicted = torch.cat([model(module.preprocess(batch)).argmax(1) for batch in images.split(500)])
        plain = torch.cat([model(batch.float() / 255).argmax(1) for batch in images.split(500)])
    print(json.dumps({
        "accuracy": float((predicted == labels).float().mean()),
        "accuracy_without_preprocess": float((plain == labels).float().mean()),
        "classes": list(module.CLASSES), "input_size": list(module.INPUT_SIZE),
    }))
    """
)


@pytest.fixture(scope="module")
def trained_export(tmp_path_factory):
    """A 2-epoch training run on 2,000 embedded Fashion-MNIST images (28 px, trained at 32 px), exported."""
    root = tmp_path_factory.mktemp("roundtrip")
    dataset = load_dataset(None)
    train_set, val_set = split(dataset)
    rng = np.random.default_rng(0)
    train_small = train_set.subset(np.sort(rng.choice(len(train_set), 2000, replace=False)), "embedded[train]")
    result = train(
        loads_spec(TINY), (train_small, val_set), epochs=2, out=root / "run", batch_size=64, lr=5e-3,
        warmup_epochs=0.3, device="cpu", seed=0,
    )  # fmt: skip
    exported = nasgen.export(root / "run", root / "export", formats="arch,code,weights,manifest")
    return root, result, exported, train_small, val_set


def test_training_weights_carry_the_data_config(trained_export):
    _, result, _, train_small, _ = trained_export
    config = DataConfig.from_metadata(read_safetensors_metadata(result.weights_path))
    pixels = train_small.images.astype(np.float64) / 255.0
    assert config.mean == pytest.approx((pixels.mean(),), abs=1e-6)
    assert config.std == pytest.approx((pixels.std(),), abs=1e-6)
    assert config.input_size == (1, 32, 32)
    assert config.classes == tuple(train_small.classes) and config.num_classes == 10
    assert (config.interpolation, config.antialias) == ("bilinear", True)
    assert (config.crop_mode, config.crop_pct) == ("squash", 1.0)
    with safe_open(str(result.weights_path), "pt") as handle:  # the metadata as safetensors itself reads it
        assert json.loads(handle.metadata()["input_mean"]) == pytest.approx(list(config.mean))


def test_export_writes_it_to_weights_manifest_and_code(trained_export):
    _, result, exported, _, _ = trained_export
    written = DataConfig.from_metadata(read_safetensors_metadata(result.weights_path))
    assert DataConfig.from_metadata(read_safetensors_metadata(exported.paths["weights"])) == written
    manifest = json.loads(exported.paths["manifest"].read_text())
    assert DataConfig.model_validate(manifest["data_config"]) == written
    code = exported.paths["code"].read_text()
    assert f"MEAN = {tuple(written.mean)!r}" in code and "def preprocess(images: torch.Tensor)" in code
    assert code.index("def preprocess") < code.index('if __name__ == "__main__":')


def test_exported_files_alone_classify_raw_images_at_the_training_accuracy(trained_export):
    root, result, exported, _, val_set = trained_export
    images = np.ascontiguousarray(val_set.images.transpose(0, 3, 1, 2))  # raw uint8 (N, 1, 28, 28)
    np.save(root / "images.npy", images)
    np.save(root / "labels.npy", val_set.labels)
    done = subprocess.run(
        [sys.executable, "-c", _CLASSIFY, str(exported.out_dir), str(root / "images.npy"), str(root / "labels.npy")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert result.val_top1 > 0.5  # a trained network, so that agreement means something
    assert report["accuracy"] == pytest.approx(result.val_top1, abs=0.01)
    assert report["accuracy_without_preprocess"] < result.val_top1 - 0.05  # the preprocess is what makes it work
    assert report["classes"] == list(val_set.classes) and report["input_size"] == [1, 32, 32]


def test_search_trial_weights_carry_the_proxy_data_config(tmp_path):
    from nasgen.search import search

    proxy = {
        "scale_resolution_from_px": None, "resolution_px": 40, "images_per_epoch": 256, "batch_size": 64,
        "val_images": 200, "epochs": 1, "warmup_epochs": 0.1,
    }  # fmt: skip
    result = search(
        "1G", space="efficientnet-v1", data=None, n_trials=1, timeout=None, proxy=proxy, out=tmp_path / "run",
        save_weights=True, pruner="none",
    )  # fmt: skip
    weights = tmp_path / "run" / "trials" / str(result.best_trial) / "weights.safetensors"
    config = DataConfig.from_metadata(read_safetensors_metadata(weights))
    assert config.input_size == (1, 40, 40)  # the proxy's size, not the architecture's 224 px
    assert config.classes == tuple(load_dataset(None).classes) and config.dataset == "embedded[train]"
    exported = nasgen.export(tmp_path / "run", tmp_path / "export", formats="code,weights,manifest")
    assert json.loads(exported.paths["manifest"].read_text())["data_config"]["input_size"] == [1, 40, 40]
    assert "INPUT_SIZE = (1, 40, 40)" in exported.paths["code"].read_text()


def test_bad_data_configs():
    with pytest.raises(DataError, match="mean and std need one value per channel"):
        DataConfig.from_json('{"mean": [0.5], "std": [0.2, 0.2], "input_size": [1, 8, 8], "num_classes": 2}')
    with pytest.raises(DataError, match="num_classes"):
        DataConfig.from_json(
            '{"mean": [0.5], "std": [0.2], "input_size": [1, 8, 8], "num_classes": 2, "classes": ["a"]}'
        )
    assert DataConfig.from_metadata({"format": "pt"}) is None
    cropped = DataConfig(mean=(0.5,), std=(0.2,), input_size=(1, 8, 8), num_classes=2, crop_pct=0.5)
    with pytest.raises(ExportError, match="crop_mode 'squash' keeps the whole image, so crop_pct must be 1"):
        render_preprocess_code(cropped)


def test_centre_crop_of_timms_evaluation_transform():
    # timm's eval transform (issue 28): shorter side to floor(H / crop_pct), then the centre H x W
    import torch
    from torchvision.transforms import v2

    centre = DataConfig(mean=(0.5,), std=(0.25,), input_size=(1, 8, 8), num_classes=2, crop_mode="center",
                        crop_pct=0.8, interpolation="bicubic")  # fmt: skip
    namespace = {"torch": torch, "F": torch.nn.functional}
    exec(render_preprocess_code(centre), namespace)  # noqa: S102 - the generated section, as model.py runs it
    images = torch.rand(3, 1, 20, 30, generator=torch.Generator().manual_seed(0))
    expected = v2.Compose([v2.Resize(10, interpolation=v2.InterpolationMode.BICUBIC, antialias=True),
                           v2.CenterCrop(8)])(images * 255.0)  # fmt: skip
    torch.testing.assert_close(namespace["preprocess"](images), (expected / 255.0 - 0.5) / 0.25)
    assert namespace["preprocess"](images).shape == (3, 1, 8, 8)


def test_preprocess_centre_crops_as_the_streamed_evaluation(tmp_path):
    # `nasgen train` on a folder evaluates with Resize(floor(R / 0.875)) + CenterCrop(R) (issue 31: model.py used to
    # say squash for those weights); the generated preprocess repeats it on tensors
    import torch
    from torchvision.transforms import v2

    config = DataConfig(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), input_size=(3, 32, 32), num_classes=2,
                        crop_mode="center", crop_pct=0.875)  # fmt: skip
    code = render_preprocess_code(config)
    assert "CROP_PCT = 0.875" in code
    namespace: dict = {}
    exec("import torch\nimport torch.nn.functional as F\n" + code, namespace)  # noqa: S102 -- our own code
    images = torch.randint(0, 256, (2, 3, 50, 70), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    got = namespace["preprocess"](images)
    reference = v2.Compose([v2.Resize(36, antialias=True), v2.CenterCrop(32)])(images).float()
    expected = (reference / 255.0 - 0.5) / 0.25
    assert got.shape == (2, 3, 32, 32)
    assert (got - expected).abs().max().item() < 0.05  # the same pixels to within a grey level or so


def test_older_training_weights_with_mean_and_std_only(tmp_path):
    # weights of `nasgen train` before the data config: input_mean / input_std, the size from arch.yaml
    from safetensors.torch import load_file, save_file

    spec = tiny_spec()
    folder = write_training_dir(tmp_path / "train", spec)
    state = load_file(str(folder / "weights.safetensors"))
    mean, std = [0.5] * spec.in_channels, [0.25] * spec.in_channels
    metadata = {"format": "pt", "input_mean": json.dumps(mean), "input_std": json.dumps(std)}
    save_file(state, str(folder / "weights.safetensors"), metadata=metadata)
    exported = nasgen.export(folder, tmp_path / "export", formats="code,manifest")
    config = json.loads(exported.paths["manifest"].read_text())["data_config"]
    size = spec.resolution_px
    assert config["mean"] == mean and config["std"] == std and config["classes"] is None
    assert config["input_size"] == [spec.in_channels, size, size] and config["num_classes"] == spec.num_classes
    assert "CLASSES = None" in exported.paths["code"].read_text()
    save_file(state, str(folder / "weights.safetensors"), metadata={"data_config": '{"mean": [0.5]}'})
    with pytest.raises(ExportError, match="weights.safetensors: std: Field required"):
        nasgen.export(folder, tmp_path / "export2", formats="manifest")
    save_file(state, str(folder / "weights.safetensors"))  # no metadata at all: no data config, no preprocess
    exported = nasgen.export(folder, tmp_path / "export3", formats="code,manifest")
    assert json.loads(exported.paths["manifest"].read_text())["data_config"] is None
    assert "def preprocess" not in exported.paths["code"].read_text()
