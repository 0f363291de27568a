"""Full training on a streamed ImageFolder: real resolution, progressive sizes, learning, bad files, resume."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn.modules.module import register_module_forward_pre_hook

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from image_trees import make_tree  # noqa: E402

from nasgen.errors import DataError  # noqa: E402
from nasgen.nn import EfficientNet  # noqa: E402
from nasgen.spec import loads_spec  # noqa: E402
from nasgen.train import ProgressiveSchedule, train  # noqa: E402

TINY = """\
name: tiny
in_channels: 1
resolution_px: 64
stem: {out_channels: 8, kernel_size: 3, stride: 2}
stages:
- {kind: fused_mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 16}
- {kind: mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 24, se_ratio: 0.25}
head_channels: 32
num_classes: 10
dropout: 0.0
drop_path_rate: 0.0
"""


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory.mktemp("stream") / "tree", n_per_class=30)


@pytest.fixture()
def input_sizes():
    """(H, W) of every batch fed to an EfficientNet while the test runs, with its training flag."""
    seen: list[tuple[bool, tuple[int, int], int]] = []

    def hook(module, args):
        if isinstance(module, EfficientNet):
            seen.append((module.training, tuple(args[0].shape[-2:]), int(args[0].shape[1])))

    handle = register_module_forward_pre_hook(hook)
    yield seen
    handle.remove()


def _train(tree, out, **changes):
    kwargs = dict(
        epochs=2, out=out, batch_size=16, seed=0, device="cpu", lr=5e-3, warmup_epochs=0.2, loader_workers=1,
        label_smoothing=0.0,
    )
    kwargs.update(changes)
    return train(loads_spec(TINY, file="tiny.yaml"), tree, **kwargs)


def test_mixed_size_folder_trains_at_the_architecture_resolution(tree, tmp_path, input_sizes):
    result = _train(tree, tmp_path / "run", epochs=3)
    assert result.spec.in_channels == 3 and result.spec.num_classes == 2 and result.spec.resolution_px == 64
    train_sizes = {size for training, size, _ in input_sizes if training}
    eval_sizes = {size for training, size, _ in input_sizes if not training}
    assert train_sizes == {(64, 64)} and eval_sizes == {(64, 64)}
    assert {channels for _, _, channels in input_sizes} == {3}
    # 60 images, 12 held out: 48 per epoch in batches of 16 → 3 training steps per epoch
    assert sum(1 for training, _, _ in input_sizes if training) >= 3 * 3
    assert result.val_top1 == 1.0  # red vs blue is learnt; eval-mode (resize + centre crop) agrees


def test_progressive_stages_see_their_own_size(tree, tmp_path, input_sizes):
    schedule = ProgressiveSchedule(
        num_stages=2, size_start_px=48, size_end_px=80, size_multiple=16, dropout=(0.0, 0.0),
        randaug_magnitude=(0.0, 0.0), randaug_num_ops=0, mixup_alpha=(0.0, 0.0),
    )  # fmt: skip
    result = _train(tree, tmp_path / "prog", epochs=2, progressive=schedule)
    with (result.out / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["image_size_px"]) for r in rows] == [48, 80]
    train_sizes = [size for training, size, _ in input_sizes if training]
    # epoch 1 trains at 48 px, epoch 2 at 80 px; never the 64-px squash of the eager loader
    assert train_sizes[0] == (48, 48) and train_sizes[-1] == (80, 80)
    assert set(train_sizes) == {(48, 48), (80, 80)}


def test_resume_repeats_the_streamed_run(tree, tmp_path):
    straight = _train(tree, tmp_path / "a", epochs=2)

    class Stop(Exception):
        pass

    def stop(row):
        raise Stop

    with pytest.raises(Stop):
        _train(tree, tmp_path / "b", epochs=2, on_epoch=stop)
    resumed = _train(tree, tmp_path / "b", epochs=2)
    assert resumed.resumed_from == 1
    assert [r["train_loss"] for r in resumed.metrics] == pytest.approx([r["train_loss"] for r in straight.metrics])
    assert resumed.val_loss == pytest.approx(straight.val_loss)


def _tree_with_corrupt_file(tmp_path):
    root = make_tree(tmp_path / "bad", n_per_class=12)
    bad = root / "red" / "red_zzz.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    return root, bad


def test_corrupt_file_fails_with_its_path(tmp_path):
    root, bad = _tree_with_corrupt_file(tmp_path)
    with pytest.raises(DataError, match=str(bad).replace(".", r"\.")) as info:
        _train(root, tmp_path / "run", epochs=1, loader_workers=0)
    assert "--skip-bad-images" in str(info.value)
    assert "Traceback" not in str(info.value)


def test_skip_bad_images_counts_and_lists_them(tmp_path):
    root, bad = _tree_with_corrupt_file(tmp_path)
    (root / "blue" / "notes.jpg").write_text("not an image")
    result = _train(root, tmp_path / "run", epochs=1, skip_bad_images=True)
    skipped = result.skipped_images
    # either bad file may have fallen into the validation split; each one seen is listed once with its reason
    assert set(skipped) <= {str(bad), str(root / "blue" / "notes.jpg")} and skipped
    assert all(reason for reason in skipped.values())
    assert np.isfinite(result.val_loss)


def test_same_run_whatever_the_number_of_loader_workers(tree, tmp_path):
    one = _train(tree, tmp_path / "x", epochs=1, loader_workers=1)
    two = _train(tree, tmp_path / "y", epochs=1, loader_workers=0)
    assert one.metrics[0]["train_loss"] == two.metrics[0]["train_loss"]
    assert one.val_loss == two.val_loss
    assert torch.isfinite(torch.tensor(one.val_loss))
