"""Where the trainer runs and what it does differently there: one home for every CPU / CUDA decision.

Each decision is a plain function of the device (and the recipe), so the CPU test suite checks the choice the
trainer makes on CUDA without a GPU; ``tests/gpu/`` checks the CUDA calls themselves.
"""

from __future__ import annotations

import torch

from nasgen.errors import TrainError

__all__ = ["autocast_dtype", "loss_check_due", "pinned_transfers", "resolve_device", "rng_devices"]

#: On a GPU the loss is read back (a host–device sync) only every this many steps and at an epoch's last step.
LOSS_CHECK_EVERY = 25


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` → CUDA when available, else CPU; otherwise ``torch.device(device)``.

    Raises:
        TrainError: CUDA requested but not available.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainError(f"device {str(device)!r} requested but CUDA is not available")
    return device


def autocast_dtype(device: torch.device, bf16: bool) -> torch.dtype | None:
    """The autocast dtype of training and evaluation on ``device``: bfloat16 on CUDA when the recipe asks for
    ``bf16``, else ``None`` (float32, autocast off).

    Never on the CPU: bf16 autocast there was slower than float32 even with AVX-512 bf16 (304 vs 410 images/s
    for a B0 step, docs/proxy.md).
    """
    return torch.bfloat16 if device.type == "cuda" and bf16 else None


def pinned_transfers(device: torch.device) -> bool:
    """Whether host batches reach ``device`` from pinned memory with non-blocking copies (CUDA only: on the CPU
    there is no copy to overlap)."""
    return device.type == "cuda"


def loss_check_due(device: torch.device, step: int, steps_per_epoch: int) -> bool:
    """Whether the trainer reads the loss back at ``step`` (0-based) to fail fast on NaN / inf.

    Every step on the CPU (free there); on a GPU every :data:`LOSS_CHECK_EVERY`-th step and the epoch's last,
    since ``loss.item()`` waits for the device and would stall the queue of kernels at every step.
    """
    if device.type == "cpu":
        return True
    return step % LOSS_CHECK_EVERY == LOSS_CHECK_EVERY - 1 or step == steps_per_epoch - 1


def rng_devices(device: torch.device) -> list[torch.device]:
    """The CUDA devices whose RNG a training run forks (``torch.random.fork_rng(devices=...)``): ``device``
    itself on CUDA, none on the CPU, so a run leaves the caller's RNG states as they were."""
    return [device] if device.type == "cuda" else []
