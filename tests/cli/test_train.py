"""``nasgen train`` through Typer's CliRunner: outputs, resume, and bad input (exit 2, one line)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from typer.testing import CliRunner

from nasgen.cli import app
from nasgen.data import load_dataset, split
from nasgen.spec import load_spec

TINY = """\
name: tiny
in_channels: 1
resolution_px: 32
stem: {out_channels: 8, kernel_size: 3, stride: 2}
stages:
- {kind: fused_mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 16}
- {kind: mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 24, se_ratio: 0.25}
head_channels: 32
num_classes: 10
"""

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-train")
    (root / "tiny.yaml").write_text(TINY)
    train_set, _ = split(load_dataset("embedded"))
    index = np.sort(np.random.default_rng(0).choice(len(train_set), 300, replace=False))
    np.savez(root / "data.npz", images=train_set.images[index, :, :, 0], labels=train_set.labels[index])
    return root


def _invoke(files, *extra):
    args = ["train", str(files / "tiny.yaml"), "--data", str(files / "data.npz"), "--batch-size", "64", "--device", "cpu"]
    return runner.invoke(app, [*args, *extra])


def test_train_progressive_and_resume(files, tmp_path):
    out = tmp_path / "run"
    result = _invoke(files, "--epochs", "2", "--progressive", "--out", str(out), "--ema", "0.9", "--optimizer", "sgd",
                     "--lr", "0.05", "--schedule-lr", "step", "--warmup-epochs", "0", "--seed", "3")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "val top-1" in result.output
    assert {p.name for p in out.iterdir()} == {"arch.yaml", "checkpoint.pt", "metrics.csv", "weights.safetensors"}
    with open(out / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # 2 epochs → 2 stages (ProgressiveSchedule.for_run): S_0 = max(stride 8, floor 16, round(32·128/300) = 14) = 16.
    assert [(r["epoch"], r["stage"], r["image_size_px"]) for r in rows] == [("1", "1", "16"), ("2", "2", "32")]
    assert load_spec(out / "arch.yaml").in_channels == 1
    again = _invoke(files, "--epochs", "2", "--progressive", "--out", str(out), "--ema", "0.9", "--optimizer", "sgd",
                    "--lr", "0.05", "--schedule-lr", "step", "--warmup-epochs", "0", "--seed", "3")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "after 2 epochs" in again.output


def test_train_schedule_file(files, tmp_path):
    schedule = tmp_path / "s.yaml"
    schedule.write_text("num_stages: 2\nsize_start_px: 16\nsize_end_px: 24\nrandaug_magnitude: [3, 9]\n")
    result = _invoke(files, "--epochs", "2", "--schedule", str(schedule), "--out", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    assert load_spec(tmp_path / "run" / "arch.yaml").resolution_px == 24


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--epochs", "3", "--schedule", "efficientnetv2-s"], "4 stages but training has only 3 epoch"),
        (["--epochs", "2", "--progressive", "--schedule", "x.yaml"], "give --progressive or --schedule FILE, not both"),
        (["--epochs", "2", "--resolution", "4"], "resolution_px 4 is below the total stride 8"),
        (["--epochs", "2", "--lr", "-1"], "lr"),
        (["--epochs", "2", "--ema", "1.5"], "ema_decay"),
        (["--epochs", "1", "--progressive"], "--epochs 1: --progressive needs at least 2 epochs"),
    ],
)
def test_bad_input_exits_2(files, tmp_path, extra, message):
    result = _invoke(files, "--out", str(tmp_path / "run"), *extra)
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_cuda_without_cuda_fails_before_making_the_run_folder(files, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = _invoke(files, "--epochs", "1", "--out", str(tmp_path / "run"), "--device", "cuda")
    assert result.exit_code == 2
    assert result.output.strip() == "error: device 'cuda' requested but CUDA is not available"
    assert not (tmp_path / "run").exists()


def test_bad_schedule_file_names_file_and_line(files, tmp_path):
    schedule = tmp_path / "bad.yaml"
    schedule.write_text("num_stages: 2\nsize_start_px: 64\nsize_end_px: 32\n")
    result = _invoke(files, "--epochs", "2", "--schedule", str(schedule), "--out", str(tmp_path / "run"))
    assert result.exit_code == 2
    assert "bad.yaml, line 3: size_end_px: must be at least size_start_px 64" in " ".join(result.output.split())


def test_resuming_with_more_epochs_names_the_setting(files, tmp_path):
    out = str(tmp_path / "run")
    assert _invoke(files, "--epochs", "1", "--out", out).exit_code == 0
    result = _invoke(files, "--epochs", "2", "--out", out)
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "error:" in text and "config.epochs: 1 -> 2" in text and "choose another --out" in text
    assert "Traceback" not in result.output


def test_classifier_init_is_part_of_the_run(files, tmp_path):
    out = str(tmp_path / "run")
    assert _invoke(files, "--epochs", "1", "--out", out).exit_code == 0  # default max_fan
    result = _invoke(files, "--epochs", "1", "--out", out, "--classifier-init", "torchvision")
    assert result.exit_code == 2
    assert "config.classifier_init: 'max_fan' -> 'torchvision'" in " ".join(result.output.split())
    bad = _invoke(files, "--epochs", "1", "--out", out, "--classifier-init", "fan_in")
    assert bad.exit_code == 2 and "fan_in" in bad.output
    from nasgen.cli.train import ClassifierInit
    from nasgen.nn import CLASSIFIER_INITS

    assert [c.value for c in ClassifierInit] == list(CLASSIFIER_INITS)


def _folder(root):
    from PIL import Image

    rng = np.random.default_rng(0)
    for index, cls in enumerate(("cat", "dog")):
        (root / cls).mkdir(parents=True)
        for i in range(12):
            pixels = rng.integers(0, 100, size=(16, 16), dtype=np.uint8) + 120 * index
            image = Image.fromarray(pixels)
            (image.convert("RGB") if i == 0 else image).save(root / cls / f"{i}.png")
    (root / "dog" / "Thumbs.db").write_bytes(b"\0")
    (root / "emu").mkdir()
    return root


def test_image_folder_notes_and_empty_class(tmp_path):
    root = _folder(tmp_path / "tree")
    refused = runner.invoke(
        app, ["train", "efficientnet-b0", "--data", str(root), "--epochs", "1", "--out", str(tmp_path / "a")]
    )
    assert refused.exit_code == 2
    assert "tree/emu: class folder holds no images" in " ".join(refused.output.split())
    (tmp_path / "tiny.yaml").write_text(TINY)
    args = ["train", str(tmp_path / "tiny.yaml"), "--data", str(root), "--epochs", "1", "--batch-size", "8",
            "--device", "cpu", "--resolution", "16", "--skip-empty-classes", "--out", str(tmp_path / "b")]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    notes = [" ".join(line.split()) for line in result.output.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: skipped 1 empty class folder(s): emu",
        "note: ignored 1 file(s) that are not images: Thumbs.db (--list-ignored lists them)",
        "note: 22 grey image(s) among 24 converted to 3 channels (the folder mixes both)",
    ]
    assert load_spec(tmp_path / "b" / "arch.yaml").num_classes == 2
    listed = runner.invoke(app, [*args[:-1], str(tmp_path / "c"), "--list-ignored"])
    assert listed.exit_code == 0, listed.output
    lines = [" ".join(line.split()) for line in listed.output.splitlines() if line.startswith("note: ignored")]
    assert lines == [
        "note: ignored 1 file(s) that are not images: Thumbs.db",
        f"note: ignored {root / 'dog' / 'Thumbs.db'}",
    ]
