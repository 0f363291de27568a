"""Full training on a streamed ImageFolder: real resolution, progressive sizes, learning, bad files, resume."""

from __future__ import annotations

import csv
import math
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


@pytest.fixture()
def decoded(monkeypatch):
    """``(file name, draft_px, decoded (W, H))`` of every image the streaming pipeline decodes in this process."""
    import nasgen.data._stream as stream_module

    calls: list[tuple[str, int | None, tuple[int, int] | None]] = []
    real = stream_module.decode_image

    def spy(path, mode, *, draft_px=None, **options):  # options: max_image_pixels (issue 30)
        image, reason = real(path, mode, draft_px=draft_px, **options)
        calls.append((Path(path).name, draft_px, None if image is None else image.size))
        return image, reason

    monkeypatch.setattr(stream_module, "decode_image", spy)
    return calls


def _own_sizes(root: Path) -> dict[str, tuple[int, int]]:
    from PIL import Image

    sizes = {}
    for path in root.rglob("*.*"):
        with Image.open(path) as image:
            sizes[path.name] = image.size
    return sizes


def test_python_api_trains_a_loaded_folder_at_its_own_resolution(tree, tmp_path, input_sizes, decoded):
    # issue 14: load_dataset(folder) from Python used to decode every file into a 64-px squash; now it is the
    # CLI's streamed reader, so the model sees the schedule's sizes cropped from each file at its own resolution
    from nasgen.data import ImageFiles, load_dataset

    data = load_dataset(tree)
    assert isinstance(data, ImageFiles)
    schedule = ProgressiveSchedule(
        num_stages=2, size_start_px=48, size_end_px=96, size_multiple=16, dropout=(0.0, 0.0),
        randaug_magnitude=(0.0, 0.0), randaug_num_ops=0, mixup_alpha=(0.0, 0.0),
    )  # fmt: skip
    result = _train(data, tmp_path / "api", epochs=2, progressive=schedule, loader_workers=0)
    assert [int(row["image_size_px"]) for row in result.metrics] == [48, 96]
    train_sizes = [size for training, size, _ in input_sizes if training]
    assert train_sizes[0] == (48, 48) and train_sizes[-1] == (96, 96) and set(train_sizes) == {(48, 48), (96, 96)}
    assert {size for training, size, _ in input_sizes if not training} == {(48, 48), (96, 96)}  # each stage's
    # training crops come from the files decoded at their own size (no JPEG draft below 2 × 170 px here):
    # 48 training files per epoch, each decoded once per epoch, 72-200 px on a side, never 64
    own = _own_sizes(tree)
    drafts = {math.ceil(px / math.sqrt(0.08)) for px in (48, 96)}  # make_loader's training draft sizes
    training = [(name, size) for name, draft, size in decoded if draft in drafts]
    assert len(training) == 2 * 48
    assert all(size == own[name] for name, size in training)
    assert min(min(size) for _, size in training) == 72


def test_in_memory_folder_is_the_eager_path(tree, tmp_path, input_sizes, decoded):
    from nasgen.data import ImageDataset, load_dataset

    data = load_dataset(tree, in_memory=True)
    assert isinstance(data, ImageDataset) and data.images.shape[1:] == (64, 64, 3)
    result = _train(data, tmp_path / "eager", epochs=1, loader_workers=0)
    assert decoded == []  # nothing streamed: the in-memory trainer resizes the 64-px array
    assert {size for training, size, _ in input_sizes if training} == {(64, 64)}
    assert result.spec.resolution_px == 64


def test_train_model_streams_loaded_files(tree, input_sizes, decoded, monkeypatch):
    import nasgen.data._stream as stream_module
    from nasgen.data import load_dataset, split
    from nasgen.nn import build_model
    from nasgen.train import TrainConfig, train_model

    monkeypatch.setattr(stream_module, "default_loader_workers", lambda: 0)  # decode here, where the spy is
    train_files, val_files = split(load_dataset(tree), None, seed=0)
    spec = loads_spec(TINY).replace(in_channels=3, num_classes=2, resolution_px=80)
    config = TrainConfig(epochs=1, batch_size=16, resolution_px=80, warmup_epochs=0.0, val_images=12)
    result = train_model(build_model(spec), train_files, val_files, config, seed=0, device="cpu")
    assert np.isfinite(result.val_loss)
    assert {size for training, size, _ in input_sizes if training} == {(80, 80)}
    assert sum(1 for _, draft, _ in decoded if draft == math.ceil(80 / math.sqrt(0.08))) == 48


def test_proxy_on_a_loaded_folder_trains_on_the_proxy_cache(tree):
    from nasgen.data import ImageDataset, load_dataset
    from nasgen.train import CPU_PROXY, evaluate_proxy, proxy_data, proxy_resolution

    files = load_dataset(tree)
    config = CPU_PROXY.replace(epochs=1, batch_size=16, warmup_epochs=0.0, val_images=12)
    spec = loads_spec(TINY).replace(resolution_px=112)  # 32 px · 112 / 224 = 16 px proxy
    px = proxy_resolution(spec.resolution_px, config)
    cached, _ = proxy_data(files, config, resolution_px=px)
    assert isinstance(cached, ImageDataset) and cached.images.shape == (60, 16, 16, 3)
    assert proxy_data(files, config, resolution_px=px)[0] is cached  # built once per process
    assert np.bincount(cached.labels).tolist() == [30, 30]
    result = evaluate_proxy(spec, files, config, seed=0, device="cpu")
    assert 0.0 <= result.val_top1 <= 1.0


def test_stream_trainer_asks_for_pinned_memory_on_cuda_only(tree, monkeypatch):
    """The CPU side of the loader's pinned memory (tests/gpu/test_gpu_stream.py checks the pinned batches on CUDA):
    every loader the streamed trainer makes on the CPU gets ``pin_memory=False``, and batches come unpinned."""
    import nasgen.train._stream as trainer_module
    from nasgen.data import load_dataset, split
    from nasgen.nn import build_model
    from nasgen.train import TrainConfig
    from nasgen.train._stream import StreamTrainer

    asked, pinned, real = [], [], trainer_module.make_loader

    def spy(*args, **kwargs):
        asked.append(kwargs["pin_memory"])
        for batch in real(*args, **kwargs):
            pinned.append(batch.images.is_pinned())
            yield batch

    monkeypatch.setattr(trainer_module, "make_loader", spy)
    train_files, val_files = split(load_dataset(tree), None, seed=0)
    spec = loads_spec(TINY).replace(in_channels=3, num_classes=2, resolution_px=32)
    config = TrainConfig(epochs=1, batch_size=16, resolution_px=32, warmup_epochs=0.0, val_images=12,
                         bn_recalibration_images=16)
    StreamTrainer(build_model(spec), train_files, val_files, config, seed=0, device="cpu", loader_workers=0).run()
    assert asked == [False, False, False]  # training, BatchNorm recalibration, evaluation
    assert pinned and not any(pinned)
