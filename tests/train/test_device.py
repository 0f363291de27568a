"""The trainer's CPU / CUDA decisions as plain functions, checked without a GPU (tests/gpu/ runs the CUDA side).

What the trainer, the streamed trainer and the proxy choose on CUDA — device, recipe, autocast dtype, pinned
memory and non-blocking copies, how often the loss is read back, which RNGs are forked — decided here for a
``torch.device("cuda")`` object, which needs no CUDA device to exist.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nasgen.data import ImageDataset
from nasgen.errors import TrainError
from nasgen.train import CPU_PROXY, GPU_PROXY, TrainConfig, Trainer, autocast_dtype, default_proxy, resolve_device
from nasgen.train._device import LOSS_CHECK_EVERY, loss_check_due, pinned_transfers, rng_devices

CPU, CUDA, CUDA1 = torch.device("cpu"), torch.device("cuda"), torch.device("cuda:1")


def test_resolve_device_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device(None) == CPU and resolve_device("cpu") == CPU and resolve_device(CPU) == CPU
    for asked in ("cuda", "cuda:1", CUDA1):
        with pytest.raises(TrainError, match=rf"device '{torch.device(asked)}' requested but CUDA is not available"):
            resolve_device(asked)


def test_resolve_device_and_default_proxy_pick_cuda_when_torch_sees_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the decision only; no CUDA call is made
    assert resolve_device(None) == CUDA and resolve_device("cuda:1") == CUDA1
    assert default_proxy(None) is GPU_PROXY and default_proxy("cuda:0") is GPU_PROXY
    assert default_proxy("cpu") is CPU_PROXY
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_proxy(None) is CPU_PROXY


def test_gpu_recipe_is_the_cpu_recipe_with_more_epochs_images_and_pixels():
    changed = {k for k in TrainConfig.model_fields if getattr(CPU_PROXY, k) != getattr(GPU_PROXY, k)}
    assert changed == {"epochs", "batch_size", "lr", "resolution_px", "warmup_epochs"}
    assert (GPU_PROXY.epochs, GPU_PROXY.batch_size, GPU_PROXY.resolution_px, GPU_PROXY.lr) == (10, 256, 64, 4e-3)
    assert GPU_PROXY.bf16 and GPU_PROXY.channels_last and GPU_PROXY.scale_resolution_from_px == 224


def test_autocast_dtype_is_bf16_on_cuda_only():
    assert autocast_dtype(CUDA, True) is torch.bfloat16 and autocast_dtype(CUDA1, True) is torch.bfloat16
    assert autocast_dtype(CUDA, False) is None
    assert autocast_dtype(CPU, True) is None and autocast_dtype(CPU, False) is None


def test_pinned_memory_and_non_blocking_copies_on_cuda_only():
    assert pinned_transfers(CUDA) and pinned_transfers(CUDA1) and not pinned_transfers(CPU)


def test_loss_is_read_back_every_step_on_cpu_and_every_25th_on_cuda():
    assert all(loss_check_due(CPU, step, 100) for step in range(100))
    due = [step for step in range(100) if loss_check_due(CUDA, step, 100)]
    assert LOSS_CHECK_EVERY == 25 and due == [24, 49, 74, 99]
    assert [step for step in range(30) if loss_check_due(CUDA, step, 30)] == [24, 29]  # and an epoch's last step
    assert [step for step in range(3) if loss_check_due(CUDA, step, 3)] == [2]


def test_rng_forked_on_the_training_gpu_only():
    assert rng_devices(CPU) == [] and rng_devices(CUDA1) == [CUDA1]


def _toy() -> ImageDataset:
    # 3 channels: a 1-channel batch has NHWC strides whatever the setting, and convolutions follow them
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, size=(32, 8, 8, 3), dtype=np.uint8)
    return ImageDataset(images, (np.arange(32) % 2).astype(np.int64), ["a", "b"], "toy")


def test_cpu_trainer_runs_float32_channels_last_without_autocast():
    """On the CPU the recipe's bf16 flag is ignored (float32 outputs) and channels_last is kept (issue 3)."""
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(4, 2))  # the second conv: 4 channels, an unambiguous layout
    seen: list[tuple[torch.dtype, bool]] = []
    model[1].register_forward_hook(
        lambda m, args, out: seen.append((out.dtype, out.is_contiguous(memory_format=torch.channels_last)))
    )
    config = TrainConfig(epochs=1, batch_size=8, resolution_px=8, bf16=True, channels_last=True, warmup_epochs=0.0)
    trainer = Trainer(model, _toy(), _toy(), config, seed=0, device="cpu")
    assert model[1].weight.is_contiguous(memory_format=torch.channels_last)
    trainer.run()
    assert seen and set(seen) == {(torch.float32, True)}  # (N, 4, 8, 8) outputs: float32, NHWC
    seen.clear()
    Trainer(model, _toy(), _toy(), config.replace(channels_last=False), seed=0, device="cpu").run()
    assert set(seen) == {(torch.float32, False)}
