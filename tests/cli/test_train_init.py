"""``nasgen train ARCH --init FILE`` (issue 28): the account of what was loaded is printed before training; a
file that is truncated, a pickle named .safetensors, missing or matching nothing exits 2 with one error line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from nasgen.cli import app
from nasgen.data import load_dataset, split

TINY = """\
name: tiny
in_channels: 1
resolution_px: 32
stem: {out_channels: 8, kernel_size: 3, stride: 2}
stages:
- {kind: fused_mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 16}
- {kind: mbconv, num_layers: 2, kernel_size: 3, stride: 2, expand_ratio: 4, out_channels: 24, se_ratio: 0.25}
head_channels: 32
num_classes: 10
"""
SMALLER = TINY.replace("name: tiny", "name: smaller").replace(
    "num_layers: 2, kernel_size: 3, stride: 2, expand_ratio: 4", "num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2"
)

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-init")
    (root / "tiny.yaml").write_text(TINY)
    (root / "smaller.yaml").write_text(SMALLER)
    train_set, _ = split(load_dataset("embedded"))
    index = np.sort(np.random.default_rng(0).choice(len(train_set), 200, replace=False))
    np.savez(root / "data.npz", images=train_set.images[index, :, :, 0], labels=train_set.labels[index])
    result = _train(root, "tiny.yaml", "--out", str(root / "first"))
    assert result.exit_code == 0, result.output
    return root


def _train(root, arch, *extra):
    args = ["train", str(root / arch), "--data", str(root / "data.npz"), "--batch-size", "50", "--device", "cpu",
            "--epochs", "1"]  # fmt: skip
    return runner.invoke(app, [*args, *extra])


def test_fine_tune_prints_what_it_loaded(trained, tmp_path):
    result = _train(trained, "tiny.yaml", "--init", str(trained / "first" / "weights.safetensors"), "--out",
                    str(tmp_path / "tuned"), "--pretrained-lr-ratio", "0.2")  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    loaded = next(line for line in lines if line.startswith("init: loaded"))
    assert f"from {trained / 'first' / 'weights.safetensors'} (nasgen names)" in loaded
    assert "init: re-initialised (a new head for 10 classes): classifier.weight, classifier.bias" in lines
    assert lines.index(loaded) < next(i for i, line in enumerate(lines) if line.startswith("val top-1"))


def test_inherit_a_smaller_architecture(trained, tmp_path):
    result = _train(trained, "smaller.yaml", "--init", f"inherit:{trained / 'first'}", "--out", str(tmp_path / "s"))
    assert result.exit_code == 0, result.output
    assert "(inherited (tiny sliced, nasgen) names)" in result.output


@pytest.fixture(scope="module")
def bad(trained):
    good = (trained / "first" / "weights.safetensors").read_bytes()
    (trained / "cut.safetensors").write_bytes(good[: len(good) // 3])
    torch.save({"stem.conv.weight": torch.zeros(1)}, trained / "pickle.safetensors")
    save_file({"fc.weight": torch.zeros(2, 2)}, str(trained / "other.safetensors"))
    return trained


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("cut.safetensors", "cut.safetensors: not a complete safetensors file"),
        ("pickle.safetensors", "pickle.safetensors: named .safetensors but it is a torch.save (pickle) file"),
        ("other.safetensors", "other.safetensors: no tensor is named like nasgen's, timm's or torchvision's"),
        ("missing.safetensors", "missing.safetensors: no such file (init "),
        ("inherit:other.safetensors", "inherit: needs the larger architecture's arch.yaml beside its weights"),
    ],
)
def test_bad_init_files_exit_2_with_one_line(bad, tmp_path, name, message):
    init = f"inherit:{bad / name.split(':')[1]}" if name.startswith("inherit:") else str(bad / name)
    result = _train(bad, "tiny.yaml", "--init", init, "--out", str(tmp_path / "run"))
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in result.output, result.output
