"""Progressive runs that learn (issue 20): no divergence in the first stage, BatchNorm across stage sizes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nasgen.data import load_dataset, split
from nasgen.nn import build_model
from nasgen.spec import loads_spec
from nasgen.train import TrainConfig, train
from nasgen.train._trainer import Trainer
from nasgen.train.progressive import ProgressiveSchedule, progressive_settings

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
"""


class Stop(Exception):
    """Ends a run after its first epoch."""


def _subset(n_train: int, n_val: int):
    train_set, val_set = split(load_dataset("embedded"))
    rng = np.random.default_rng(0)
    return (
        train_set.subset(np.sort(rng.choice(len(train_set), n_train, replace=False)), "sub-train"),
        val_set.subset(np.sort(rng.choice(len(val_set), n_val, replace=False)), "sub-val"),
    )


def _bn_buffers(model):
    return {k: v.clone() for k, v in model.state_dict().items() if "running_" in k}


def test_bn_statistics_are_reestimated_at_each_stage_size():
    """A full run re-estimates BatchNorm statistics at the stage's own size before each evaluation."""
    spec = loads_spec(TINY, file="tiny.yaml")
    data = _subset(384, 128)
    schedule = ProgressiveSchedule(num_stages=2, size_start_px=16, size_end_px=32, randaug_num_ops=0)
    config = TrainConfig(epochs=2, batch_size=64, resolution_px=32, bn_recalibration_images=256, bf16=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build_model(spec)
    trainer = Trainer(model, *data, config, seed=0, device="cpu", epoch_settings=progressive_settings(schedule, 2))
    stage_1 = []
    trainer.run(lambda epoch, top1: stage_1.append(_bn_buffers(trainer.model)) if epoch == 0 else None)
    assert [h["resolution_px"] for h in trainer.history] == [16, 32]
    final = _bn_buffers(trainer.model)
    trainer.recalibrate_bn(32, epoch=1)  # the same images as the run's own re-estimation at 32 px
    assert all(torch.equal(final[k], v) for k, v in _bn_buffers(trainer.model).items())
    trainer.recalibrate_bn(16, epoch=1)  # the same weights at the first stage's size: other statistics
    at_16 = _bn_buffers(trainer.model)
    assert not torch.allclose(final["stem.bn.running_var"], at_16["stem.bn.running_var"])
    assert not all(torch.equal(stage_1[0][k], final[k]) for k in final)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=False,
    reason="issue 20 open: with zero-init residual and no RandAugment the first epoch's mean loss fell from 4.42 "
    "to 3.33 (benchmarks/progressive_first_epoch.py, 4,000 images) but stays above ln 10: the initial loss is "
    "already 6.36 because nasgen.nn initializes the 10-class classifier uniform(+-1/sqrt(10)) (docs/progressive.md)",
)
def test_first_progressive_stage_of_b0_does_not_diverge(tmp_path):
    """The issue's command (B0, --progressive, final 64 px, 4 epochs) on embedded data: loss < ln 10 in epoch 1.

    With nasgen train's recipe before issue 20 the first stage's mean loss was 4.42 (benchmarks/
    progressive_first_epoch.py, 4,000 images); the issue's digit folder gave 4.43.
    """
    rows = []

    def stop(row):
        rows.append(row)
        raise Stop

    with pytest.raises(Stop):
        train("efficientnet-b0", _subset(2048, 200), epochs=4, out=tmp_path, progressive=True, resolution_px=64,
              seed=0, device="cpu", bn_recalibration_images=512, on_epoch=stop)  # fmt: skip
    assert rows[0]["image_size_px"] == 32
    assert rows[0]["train_loss"] < math.log(10)
