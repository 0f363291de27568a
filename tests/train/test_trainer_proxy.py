"""evaluate_proxy: spec adaptation to the data, resolution rule, seeding, default recipes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasgen.data import ImageDataset
from nasgen.nn import build_model
from nasgen.spec import load_spec, spec_from_dict
from nasgen.train import (
    CPU_PROXY,
    GPU_PROXY,
    PROXY_FLOOR_PX,
    TrainConfig,
    default_proxy,
    estimate_proxy_seconds,
    evaluate_proxy,
    proxy_resolution,
)
from nasgen.train._proxy import zero_init_residual

TINY = {
    "name": "tiny",
    "in_channels": 3,
    "resolution_px": 32,
    "stem": {"out_channels": 8, "kernel_size": 3, "stride": 2},
    "stages": [
        {"kind": "mbconv", "num_layers": 2, "kernel_size": 3, "stride": 1, "expand_ratio": 1, "out_channels": 8},
        {"kind": "fused_mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 2,
         "out_channels": 16, "se_ratio": 0.25},
    ],
    "head_channels": 32,
    "num_classes": 1000,
}


def _grey(n=48, classes=3) -> ImageDataset:
    rng = np.random.default_rng(0)
    labels = np.arange(n) % classes
    images = (rng.integers(0, 40, size=(n, 12, 12, 1)) + 60 * labels[:, None, None, None]).astype(np.uint8)
    return ImageDataset(images, labels.astype(np.int64), [str(c) for c in range(classes)], "grey")


def test_proxy_adapts_spec_and_is_seeded():
    spec = spec_from_dict(TINY)
    config = TrainConfig(epochs=1, batch_size=16, resolution_px=16, warmup_epochs=0.5, dropout=0.0)
    data = (_grey(), _grey(30))
    before = torch.get_rng_state()
    a = evaluate_proxy(spec, data, config, seed=1, device="cpu")
    b = evaluate_proxy(spec, data, config, seed=1, device="cpu")
    assert torch.equal(before, torch.get_rng_state())
    assert a.val_top1 == b.val_top1 and a.history[0]["resolution_px"] == 16
    c = evaluate_proxy(spec, data, config, seed=2, device="cpu")
    assert c.history[0]["train_loss"] != a.history[0]["train_loss"]


def test_proxy_splits_a_single_dataset_the_same_way_every_time():
    spec = spec_from_dict(TINY)
    config = TrainConfig(epochs=1, batch_size=16, resolution_px=16, warmup_epochs=0.5, val_images=6)
    data = _grey(60)
    a = evaluate_proxy(spec, data, config, seed=0, device="cpu")
    b = evaluate_proxy(spec, data, config, seed=0, device="cpu")
    assert a.val_top1 == b.val_top1 and a.val_top1 * 6 == round(a.val_top1 * 6)


def test_proxy_resolution_rule():
    scaled = TrainConfig(resolution_px=32, scale_resolution_from_px=224)
    assert proxy_resolution(224, scaled, 32) == 32
    assert proxy_resolution(256, scaled, 32) == 37  # round(32 · 256 / 224)
    assert proxy_resolution(128, scaled, 32) == 32  # never below the network's total stride
    assert proxy_resolution(128, scaled, 8) == 18
    assert proxy_resolution(128, TrainConfig(resolution_px=40), 32) == 40


def test_proxy_resolution_floor_is_16_px_or_the_datas_own_size():
    scaled = TrainConfig(resolution_px=32, scale_resolution_from_px=224)
    assert PROXY_FLOOR_PX == 16
    assert proxy_resolution(48, scaled, 4) == 7  # the old rule alone: a 48-px space trained at 7 px
    assert proxy_resolution(48, scaled, 4, data_px=28) == 16  # raised to the floor
    assert proxy_resolution(48, scaled, 4, data_px=12) == 12  # data smaller than the floor: its own size
    assert proxy_resolution(224, scaled, 32, data_px=28) == 32  # above the floor: unchanged
    spec = spec_from_dict({**TINY, "resolution_px": 48}).replace(stem=spec_from_dict(TINY).stem.model_copy())
    config = TrainConfig(epochs=1, batch_size=16, resolution_px=32, scale_resolution_from_px=224, warmup_epochs=0.5)
    result = evaluate_proxy(spec, (_grey(), _grey(30)), config, seed=0, device="cpu")
    assert result.history[0]["resolution_px"] == 12  # the 12-px data, not round(32 · 48 / 224) = 7


def test_estimate_proxy_seconds_scales_steps_to_the_recipe():
    spec = spec_from_dict(TINY)
    config = TrainConfig(epochs=3, batch_size=16, resolution_px=16, warmup_epochs=0.5)
    before = torch.get_rng_state()
    epoch_s, total_s = estimate_proxy_seconds(spec, (_grey(), _grey(30)), config, seed=0, device="cpu")
    assert torch.equal(before, torch.get_rng_state())
    assert 0 < epoch_s < 5 and total_s == pytest.approx(3 * epoch_s)


def test_zero_init_residual_on_b0_zeroes_the_nine_skip_blocks():
    model = build_model(load_spec("efficientnet-b0").replace(num_classes=10))
    assert zero_init_residual(model) == 9  # 16 blocks, 7 of which start a stage (no skip)
    assert int(torch.count_nonzero(model.stages[1][1].bn3.weight)) == 0
    assert int(torch.count_nonzero(model.stages[1][0].bn3.weight)) == 24


def test_default_proxies():
    assert default_proxy("cpu") is CPU_PROXY
    assert CPU_PROXY.resolution_px == 32 and CPU_PROXY.epochs >= 1
    assert GPU_PROXY.resolution_px >= CPU_PROXY.resolution_px
    if not torch.cuda.is_available():
        assert default_proxy() is CPU_PROXY


# Issue 7's targets for B0 (mean top-1 >= 85 %, seed sd <= 1 point, <= 90 s) are measured by
# benchmarks/proxy_fidelity.py, which prints the figures; they are not a pass/fail unit test because one
# measurement is three full B0 proxy trainings (several minutes of both cores).
