"""Timing on the device: a part or a whole network, in inference (eval mode, no autograd) or as one training step
(forward, backward, a fused AdamW step), median of repeats after warm-up.

How many repeats (issue 30), so that a long call is not repeated more than its stability needs: a call first runs
as warm-up (allocator, oneDNN primitive caches, optimizer state) — twice when it is shorter than
:data:`LONG_CALL_S`, and a call of :data:`SELF_WARM_S` or more counts as a repeat itself — then it is repeated
until there are at least five repeats over ``min_seconds`` (short calls: the old rule, 2 warm-ups and ≥ 5 repeats
over 0.15 s for a part), or three that span ``min_seconds`` and agree within :data:`AGREE`, or two agreeing
calls of a second or more. The time is the median of the repeats. Calls made for a part of EfficientNetV2-S's
training step at batch 128 (1–15 s each on 2 cores): 2 where they were 7 (``benchmarks/latency_timing.py``
compares both rules on the same parts).

Imports torch on first use (as ``_thop``, it takes a module already built: ``nasgen.nn`` builds the parts and
networks, :class:`~nasgen.nn.ModuleTimer`, and hands them to :func:`time_module`).
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasgen.cost._parts import Part
from nasgen.errors import SpecError

__all__ = [
    "AGREE",
    "LONG_CALL_S",
    "MODES",
    "SELF_WARM_S",
    "Timing",
    "available_memory_bytes",
    "check_mode",
    "device_key",
    "step_memory_bytes",
    "time_module",
]

MODES = ("infer", "train")
#: A first call at least this long (s) is warm-up enough; a shorter one is followed by a second warm-up call.
LONG_CALL_S = 0.1
#: A first call at least this long (s) also counts as a repeat, and two agreeing repeats this long suffice.
SELF_WARM_S = 1.0
#: Three repeats whose slowest is at most this factor above the fastest are taken as agreeing.
AGREE = 1.10
_MAX_REPEATS = 200


@dataclass(frozen=True)
class Timing:
    """One timing: the median time of a call (ms), the wall time the timing took (s, warm-up included) and the
    calls it made."""

    ms: float
    seconds: float
    calls: int


def check_mode(mode: str, batch: int) -> None:
    """Raises: SpecError: An unknown mode, or a batch that is not a positive integer."""
    if mode not in MODES:
        raise SpecError(f"expected one of {', '.join(MODES)}, got {mode!r}", path="mode", value=mode)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise SpecError(f"must be a positive integer, got {batch!r}", path="batch", value=batch)


def device_key(device: str = "cpu", *, dtype: str = "float32", channels_last: bool = True) -> dict[str, Any]:
    """What a table is valid for: device name, torch version, threads, dtype, memory format.

    Raises:
        SpecError: ``device`` is not ``cpu`` / ``cuda[:N]``, or CUDA is asked for without a CUDA device.
    """
    import torch

    if device == "cpu":
        name = _cpu_name()
    elif device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SpecError(f"{device!r} asked for, but this machine has no CUDA device", path="device",
                            value=device)
        name = torch.cuda.get_device_name(torch.device(device))
    else:
        raise SpecError(f"expected 'cpu' or 'cuda[:N]', got {device!r}", path="device", value=device)
    return {"device": device.split(":")[0], "device_name": name, "torch": torch.__version__.split("+")[0],
            "threads": torch.get_num_threads(), "dtype": dtype, "channels_last": channels_last}


def _cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")  # Linux; elsewhere the platform module's words
    text = cpuinfo.read_text(errors="replace") if cpuinfo.is_file() else ""
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def available_memory_bytes(device: str = "cpu") -> int | None:
    """Memory a measurement may use: free CUDA memory, or the host's ``MemAvailable``; ``None`` when unknown."""
    if device.startswith("cuda"):
        import torch

        return int(torch.cuda.mem_get_info(torch.device(device))[0])
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass  # no /proc (not Linux): the sysconf figure below
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def step_memory_bytes(spec: Any, *, batch: int, resolution_px: int | None = None, dtype_bytes: int = 4) -> int:
    """Memory a training step of the whole network needs, roughly (bytes): every layer output at ``batch``
    (:func:`~nasgen.cost.count_cost`'s activation memory), kept for the backward pass, and as much again for
    their gradients; weights and optimizer state are small beside them at proxy batches. EfficientNetV2-S at
    batch 128: 3.2 GB at 55 px (the whole profile peaked at 3.0 GB RSS there), 121 GB at its own 384 px.
    """
    from nasgen.cost._analytic import count_cost

    report = count_cost(spec, resolution_px=resolution_px, batch_size=batch, dtype_bytes=dtype_bytes)
    return 2 * report.activation_bytes


def time_module(module: Any, part: Part, mode: str, batch: int, key: dict[str, Any],
                min_seconds: float = 0.15) -> Timing:
    """Time ``module`` on a random input ``(batch, part.in_channels, part.size_px, part.size_px)`` in ``mode`` (see
    the module docstring for the repeats); torch's global RNG is left as it was.

    Args:
        module: The built part or network (moved to the key's device and memory format).
        part: What it is: its input channels and size; a ``stem`` or ``network`` input never requires grad.
        mode: ``infer`` or ``train`` (checked by the caller, :func:`check_mode`).
        batch: Images per call.
        key: The device key (:func:`device_key`): ``device`` and ``channels_last`` are used.
        min_seconds: The repeats' least total time (s).
    """
    import torch

    device = torch.device(key.get("device", "cpu"))
    memory_format = torch.channels_last if key.get("channels_last", True) else torch.contiguous_format
    module = module.to(device, memory_format=memory_format)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, part.in_channels, part.size_px, part.size_px, generator=generator)
    x = x.to(device).contiguous(memory_format=memory_format)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with torch.random.fork_rng(devices=[]):
        if mode == "infer":
            module.eval()

            def step() -> None:
                with torch.inference_mode():
                    module(x)
        else:
            module.train()
            x.requires_grad_(part.role not in ("stem", "network"))
            fused = {"fused": True} if device.type in ("cpu", "cuda") else {}
            optimizer = torch.optim.AdamW(module.parameters(), lr=1e-4, **fused)
            labels = torch.zeros(batch, dtype=torch.long, device=device)

            def step() -> None:
                out = module(x)
                if out.dim() == 2:
                    loss = torch.nn.functional.cross_entropy(out.float(), labels)
                else:
                    loss = out.float().mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        return _sample(step, sync, min_seconds)


def _call_s(step: Callable[[], None], sync: Callable[[], None]) -> float:
    begin = time.perf_counter()
    step()
    sync()
    return time.perf_counter() - begin


def _sample(step: Callable[[], None], sync: Callable[[], None], min_seconds: float) -> Timing:
    start = time.perf_counter()
    first = _call_s(step, sync)  # warm-up: allocator, oneDNN primitive caches, optimizer state
    calls, samples = 1, []
    if first < LONG_CALL_S:
        _call_s(step, sync)
        calls += 1
    elif first >= SELF_WARM_S:
        samples.append(first)  # what warm-up adds (milliseconds) is lost in a call of seconds
    begin = time.perf_counter()
    while len(samples) < _MAX_REPEATS:
        samples.append(_call_s(step, sync))
        calls += 1
        if _enough(samples, time.perf_counter() - begin, min_seconds):
            break
    return Timing(1000.0 * statistics.median(samples), time.perf_counter() - start, calls)


def _enough(samples: list[float], elapsed: float, min_seconds: float) -> bool:
    """Whether the repeats so far give a stable median (see the module docstring)."""
    n, agree = len(samples), max(samples) <= AGREE * min(samples)
    if n >= 5 and elapsed >= min_seconds:
        return True  # the timeit-style rule, for short calls
    if n == 3 and elapsed >= min_seconds and agree:
        return True  # three agreeing repeats over min_seconds: their median is as good as five's
    return n == 2 and min(samples) >= SELF_WARM_S and agree  # two agreeing calls of seconds each
