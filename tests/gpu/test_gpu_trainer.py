"""The trainer on CUDA: the device it picks, bf16 autocast, channels_last, fused AdamW, forked RNGs, the B0 proxy.

CPU side: tests/train/test_device.py (the same decisions as plain functions), tests/train/test_trainer.py.
"""

from __future__ import annotations

import pytest
import torch
from cuda_only import GPU_ONLY, conv_outputs, toy, toy_net

from nasgen.data import load_dataset
from nasgen.spec import load_spec
from nasgen.train import (
    GPU_PROXY,
    TrainConfig,
    Trainer,
    default_proxy,
    estimate_proxy_seconds,
    evaluate_proxy,
    resolve_device,
    train_model,
)

pytestmark = GPU_ONLY

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

FAST = TrainConfig(epochs=3, batch_size=16, resolution_px=8, warmup_epochs=0.5, lr=1e-2)


def test_the_default_device_is_the_gpu_and_its_recipe_is_gpu_proxy():
    assert resolve_device(None) == torch.device("cuda") and resolve_device("cuda:0") == torch.device("cuda:0")
    assert default_proxy() is GPU_PROXY and default_proxy("cuda") is GPU_PROXY
    result = train_model(toy_net(), toy(), toy(32, seed=1), FAST.replace(epochs=1), seed=0)  # device=None
    assert result.device == "cuda" and next(result.model.parameters()).device.type == "cuda"


def test_training_runs_in_bf16_autocast_channels_last_with_fused_adamw():
    model = toy_net()
    seen = conv_outputs(model[3])
    trainer = Trainer(model, toy(), toy(32, seed=1), FAST, seed=0, device="cuda")
    assert model[3].weight.device.type == "cuda" and model[3].weight.is_contiguous(memory_format=torch.channels_last)
    assert trainer.optimizer.defaults["fused"] is True
    result = trainer.run()
    assert {(dtype, last, where) for _, dtype, last, where in seen} == {(torch.bfloat16, True, "cuda")}
    assert {training for training, *_ in seen} == {True, False}  # training steps and evaluation alike
    assert result.val_top1 >= 0.9 and all(torch.isfinite(torch.tensor(h["train_loss"])) for h in result.history)
    assert model[3].weight.dtype == torch.float32  # autocast: the master weights stay float32


def test_bf16_off_and_nchw_train_in_float32():
    # 3-channel images: a 1-channel batch has NHWC strides whatever the setting, and convolutions follow them
    model = toy_net(channels=3)
    seen = conv_outputs(model[3])
    config = FAST.replace(bf16=False, channels_last=False)
    train_model(model, toy(channels=3), toy(32, seed=1, channels=3), config, seed=0, device="cuda")
    assert {(dtype, last) for _, dtype, last, _ in seen} == {(torch.float32, False)}


def test_a_cuda_run_leaves_the_rng_states_alone_and_repeats_itself():
    cpu_before, cuda_before = torch.get_rng_state(), torch.cuda.get_rng_state()
    a = train_model(toy_net(), toy(), toy(32, seed=1), FAST, seed=3, device="cuda")
    b = train_model(toy_net(), toy(), toy(32, seed=1), FAST, seed=3, device="cuda")
    assert torch.equal(cpu_before, torch.get_rng_state()) and torch.equal(cuda_before, torch.cuda.get_rng_state())
    # cuDNN may pick other kernels between runs: equal to bf16 rounding, not bit for bit
    assert [h["train_loss"] for h in a.history] == pytest.approx([h["train_loss"] for h in b.history], rel=2e-2)
    assert a.val_top1 == pytest.approx(b.val_top1, abs=1 / 16)


def test_b0_proxy_on_cuda_trains_at_64_px_and_learns():
    data = load_dataset()  # the embedded Fashion-MNIST subset, 10 classes
    config = GPU_PROXY.replace(epochs=2, val_images=1000)  # 2 of the recipe's 10 epochs: 80 steps of 256 images
    spec = load_spec("efficientnet-b0")
    result = evaluate_proxy(spec, data, config, seed=0)
    assert result.device == "cuda" and [h["resolution_px"] for h in result.history] == [64, 64]
    # 10 classes, chance 0.1; the CPU proxy's first epoch (79 steps of 128) scored 0.65-0.71 (docs/proxy.md)
    assert result.val_top1 >= 0.5
    epoch_s, total_s = estimate_proxy_seconds(spec, data, config, seed=0)
    assert 0 < epoch_s < 60 and total_s == pytest.approx(2 * epoch_s)


def test_nasgen_train_on_cuda(tmp_path):
    import numpy as np
    from safetensors.torch import load_file
    from typer.testing import CliRunner

    from nasgen.cli import app
    from nasgen.data import split

    train_set, _ = split(load_dataset("embedded"))
    index = np.sort(np.random.default_rng(0).choice(len(train_set), 600, replace=False))
    np.savez(tmp_path / "data.npz", images=train_set.images[index, :, :, 0], labels=train_set.labels[index])
    (tmp_path / "tiny.yaml").write_text(TINY)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", str(tmp_path / "tiny.yaml"), "--data", str(tmp_path / "data.npz"),
                                      "--epochs", "2", "--batch-size", "64", "--device", "cuda", "--out", str(out)])
    assert result.exit_code == 0, result.output
    state = load_file(str(out / "weights.safetensors"), device="cpu")
    assert state and all(torch.isfinite(t.float()).all() for t in state.values())
