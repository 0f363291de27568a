"""Full training: checkpoint/resume equivalence, metrics CSV, exported weights, progressive stages."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from nasgen.data import load_dataset, split
from nasgen.errors import SpecError, TrainError
from nasgen.nn import build_model
from nasgen.spec import load_spec, loads_spec
from nasgen.train import ProgressiveSchedule, train
from nasgen.train._full import METRICS_COLUMNS
from nasgen.train.progressive import progressive_settings

TINY = """\
name: tiny
in_channels: 1
resolution_px: 32
stem: {out_channels: 8, kernel_size: 3, stride: 2}
stages:
- {kind: fused_mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 16}
- {kind: mbconv, num_layers: 2, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 24, se_ratio: 0.25}
head_channels: 32
num_classes: 10
dropout: 0.2
drop_path_rate: 0.1
"""


class Stop(Exception):
    """Raised by the tests' on_epoch to interrupt a run after its checkpoint is written."""


@pytest.fixture(scope="module")
def tiny_spec():
    return loads_spec(TINY, file="tiny.yaml")


@pytest.fixture(scope="module")
def data():
    dataset = load_dataset("embedded")
    train_set, val_set = split(dataset)
    rng = np.random.default_rng(0)
    return (
        train_set.subset(np.sort(rng.choice(len(train_set), 384, replace=False)), "tiny-train"),
        val_set.subset(np.sort(rng.choice(len(val_set), 128, replace=False)), "tiny-val"),
    )


def _run(tiny_spec, data, out, **changes):
    kwargs = dict(
        epochs=2, out=out, batch_size=64, seed=7, resolution_px=32, progressive=True, ema_decay=0.9,
        device="cpu", lr=5e-3, warmup_epochs=0.5,
    )  # fmt: skip
    kwargs.update(changes)
    return train(tiny_spec, data, **kwargs)


def _deterministic(row):
    return {k: v for k, v in row.items() if k not in ("images_per_s", "seconds")}


def test_resume_equals_straight_run(tiny_spec, data, tmp_path):
    straight = _run(tiny_spec, data, tmp_path / "a")

    def stop_after_first(row):
        if row["epoch"] == 1:
            raise Stop

    with pytest.raises(Stop):
        _run(tiny_spec, data, tmp_path / "b", on_epoch=stop_after_first)
    assert not (tmp_path / "b" / "weights.safetensors").exists()
    with open(tmp_path / "b" / "metrics.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 1
    resumed = _run(tiny_spec, data, tmp_path / "b")

    assert resumed.resumed_from == 1 and straight.resumed_from == 0
    assert [_deterministic(r) for r in resumed.metrics] == [_deterministic(r) for r in straight.metrics]
    a, b = load_file(tmp_path / "a" / "weights.safetensors"), load_file(tmp_path / "b" / "weights.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # A finished run is not trained again.
    again = _run(tiny_spec, data, tmp_path / "b")
    assert again.resumed_from == 2 and again.val_top1 == straight.val_top1


def test_outputs(tiny_spec, data, tmp_path):
    result = _run(tiny_spec, data, tmp_path, epochs=4, ema_decay=None)
    # for_run at 32 px on 28-px data: S_0 = max(stride 8, floor 16, round(32·128/300) = 14) → 16, then 32; two
    # stages of two epochs (default_num_stages(4) == 2).
    with open(tmp_path / "metrics.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == METRICS_COLUMNS
        rows = list(reader)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert [int(r["stage"]) for r in rows] == [1, 1, 2, 2]
    assert [int(r["image_size_px"]) for r in rows] == [16, 16, 32, 32]
    assert float(rows[-1]["val_top1"]) == pytest.approx(result.val_top1)
    assert all(0.0 <= float(r["train_top1"]) <= 1.0 and float(r["images_per_s"]) > 0 for r in rows)
    assert float(rows[0]["lr"]) > float(rows[-1]["lr"])  # cosine decays to 0 at the last step
    assert float(rows[-1]["lr"]) == pytest.approx(0.0, abs=1e-9)

    # arch.yaml is the trained spec (classes, channels, resolution adapted); weights load into it.
    spec = load_spec(tmp_path / "arch.yaml")
    assert spec == result.spec == tiny_spec.replace(in_channels=1, num_classes=10, resolution_px=32)
    model = build_model(spec)
    model.load_state_dict(load_file(tmp_path / "weights.safetensors"))
    with safe_open(tmp_path / "weights.safetensors", "pt") as handle:
        meta = handle.metadata()
    assert meta["arch_hash"] == spec.content_hash()
    mean, std = json.loads(meta["input_mean"]), json.loads(meta["input_std"])
    # The exported weights reproduce the reported validation accuracy on their own.
    val = data[1]
    x = torch.from_numpy(val.images).permute(0, 3, 1, 2).float() / 255.0
    x = (x - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
    with torch.no_grad():
        predicted = model.eval()(torch.nn.functional.interpolate(x, size=32, mode="bilinear", antialias=True))
    accuracy = float((predicted.argmax(1) == torch.from_numpy(val.labels)).float().mean())
    assert accuracy == pytest.approx(result.val_top1, abs=2 / len(val))  # resize rounding may flip an image

    checkpoint = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert set(checkpoint) == {"format", "run", "trainer", "metrics", "train_seconds"}
    assert checkpoint["trainer"]["start_epoch"] == 4
    assert {"model", "optimizer", "scheduler", "ema", "generator", "rng"} <= set(checkpoint["trainer"])


def test_progressive_settings_feed_the_trainer():
    schedule = ProgressiveSchedule(num_stages=2, size_start_px=16, size_end_px=32, mixup_alpha=(0.0, 0.4))
    settings = progressive_settings(schedule, total_epochs=4)
    first, last = settings(0), settings(3)
    assert settings(1) is first and settings(2) is last  # built once per stage
    assert (first.resolution_px, first.dropout, first.mixup_alpha) == (16, 0.1, 0.0)
    assert (last.resolution_px, last.dropout, last.mixup_alpha) == (32, 0.3, 0.4)
    assert (first.batch_transform.augment.magnitude, last.batch_transform.augment.magnitude) == (5, 15)
    batch = torch.randint(0, 256, (20, 1, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    augmented = last.batch_transform(batch)
    assert augmented.shape == batch.shape and augmented.dtype == torch.uint8
    assert not torch.equal(augmented, batch)
    no_randaug = progressive_settings(schedule.model_copy(update={"randaug_num_ops": 0}), 2)
    assert no_randaug(0).batch_transform is None
    assert progressive_settings(schedule.model_copy(update={"apply_dropout": False}), 2)(1).dropout is None
    with pytest.raises(TrainError, match="2 stages but training has only 1 epoch"):
        progressive_settings(schedule, 1)


def test_fixed_size_training_without_schedule(tiny_spec, data, tmp_path):
    result = _run(tiny_spec, data, tmp_path, progressive=False, epochs=1, resolution_px=24, optimizer="sgd")
    assert [r["image_size_px"] for r in result.metrics] == [24]
    assert [r["stage"] for r in result.metrics] == [1]
    assert result.spec.resolution_px == 24


def test_schedule_file(tiny_spec, data, tmp_path):
    path = tmp_path / "schedule.yaml"
    path.write_text("num_stages: 2\nsize_start_px: 16\nsize_end_px: 24\nmixup_alpha: [0, 0.2]\n")
    result = _run(tiny_spec, data, tmp_path / "run", progressive=path, resolution_px=None)
    assert [r["image_size_px"] for r in result.metrics] == [16, 24]
    assert result.spec.resolution_px == 24


def test_bad_input(tiny_spec, data, tmp_path):
    with pytest.raises(TrainError, match="4 stages but training has only 3 epoch"):
        _run(tiny_spec, data, tmp_path / "a", progressive="efficientnetv2-s", resolution_px=None, epochs=3)
    with pytest.raises(TrainError, match="size_start_px 4 is below the total stride 8"):
        _run(tiny_spec, data, tmp_path / "b", resolution_px=None,
             progressive=ProgressiveSchedule(num_stages=2, size_start_px=4, size_end_px=32))  # fmt: skip
    with pytest.raises(TrainError, match="ends at 32 px but the resolution asked for is 24 px"):
        _run(tiny_spec, data, tmp_path / "c", resolution_px=24,
             progressive=ProgressiveSchedule(num_stages=2, size_start_px=16, size_end_px=32))  # fmt: skip
    with pytest.raises(SpecError, match="resolution_px 4 is below the total stride 8"):
        _run(tiny_spec, data, tmp_path / "d", resolution_px=4, progressive=False)
    with pytest.raises(SpecError, match="lr"):
        _run(tiny_spec, data, tmp_path / "e", lr=-1.0)
    _run(tiny_spec, data, tmp_path / "f", epochs=1, progressive=False)
    with pytest.raises(TrainError, match="belongs to a different run: config.lr: 0.005 -> 0.001; run the same"):
        _run(tiny_spec, data, tmp_path / "f", epochs=1, progressive=False, lr=1e-3)
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(TrainError, match="cannot read checkpoint"):
        _run(tiny_spec, data, tmp_path / "g")


def test_progressive_with_one_epoch_names_epochs(tiny_spec, data, tmp_path):
    # not "num_stages: must be at least 2", a setting the caller never made (issue 19)
    with pytest.raises(TrainError, match="progressive learning needs at least 2 epochs .*got epochs=1"):
        _run(tiny_spec, data, tmp_path / "run", epochs=1, progressive=True)
    assert not (tmp_path / "run").exists()


def test_resuming_a_different_run_names_each_changed_setting(tiny_spec, data, tmp_path):
    _run(tiny_spec, data, tmp_path / "run", epochs=1, progressive=False)
    with pytest.raises(TrainError) as more_epochs:  # a finished run asked for more epochs (issue 19)
        _run(tiny_spec, data, tmp_path / "run", epochs=2, progressive=False)
    message = str(more_epochs.value)
    assert "config.epochs: 1 -> 2" in message and "a longer run starts afresh" in message
    assert "config.lr" not in message and "spec" not in message  # only what changed
    wider = tiny_spec.replace(stages=(tiny_spec.stages[0], tiny_spec.stages[1].model_copy(update={"kernel_size": 5})))
    with pytest.raises(TrainError, match="spec.stages.1.kernel_size: 3 -> 5") as other_spec:
        _run(tiny_spec.replace(stages=wider.stages), data, tmp_path / "run", epochs=1, progressive=False, seed=8)
    assert "seed: 7 -> 8" in str(other_spec.value)
    fewer = (data[0].subset(np.arange(300), "tiny-train"), data[1])
    with pytest.raises(TrainError, match="data.train_images: 384 -> 300"):
        _run(tiny_spec, fewer, tmp_path / "run", epochs=1, progressive=False)


def test_progressive_proxy_for_the_search(tiny_spec, data):
    from nasgen.train import CPU_PROXY, TrainConfig, evaluate_proxy

    config = CPU_PROXY.replace(progressive=True, epochs=2, resolution_px=32, scale_resolution_from_px=None)
    result = evaluate_proxy(tiny_spec, data, config, seed=0, device="cpu")
    # V2-S rescaled to the 32-px proxy of a stride-8 network: 2 stages at max(8, round(32·128/300)) = 14, then 32.
    assert [h["resolution_px"] for h in result.history] == [14, 32]
    assert 0.0 <= result.val_top1 <= 1.0
    with pytest.raises(SpecError, match="progressive learning needs at least 2 epochs"):
        TrainConfig.from_dict({"progressive": True, "epochs": 1})
