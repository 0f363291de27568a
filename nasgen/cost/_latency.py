"""Measured cost: inference latency and training step time from a per-block lookup table.

MACs mislead on a real device (MnasNet §1: MobileNetV1 575M MACs / 113 ms against NASNet 564M / 183 ms), and
EfficientNetV2 searched with training step time in its reward (§3.3). As FBNet (Wu et al. 2019, §3.2) and
ProxylessNAS (Cai et al. 2019, §3.3) do, the network's time is predicted as the sum of its parts' times, each
measured once on the device and kept in a lookup table: the stem, every block (keyed by its kind and shape:
in/out channels, expansion, kernel, stride, SE ratio, input size, activation, plugin options) and the head
(1×1 conv, pool, classifier). Tables are cached on disk, one file per device key (device name, torch
version, threads, dtype, memory format), and grow lazily with the blocks a search meets.

Modes:
- ``infer``: eval mode, no autograd, ``batch`` images (batch 1 = latency);
- ``train``: one training step (forward, backward, a fused AdamW step) at ``batch`` images, as the proxy
  trains; a part's input requires grad (except the stem's image), so input gradients are timed as in the
  network.

Imports torch on first use (the only torch user in ``nasgen.cost`` besides ``_thop``).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasgen.cost._trace import conv_output_size
from nasgen.errors import SpecError

__all__ = [
    "LatencyPrediction",
    "calibrate",
    "LatencyTable",
    "Part",
    "device_key",
    "measure_latency",
    "parts_of",
    "predict_latency",
]

MODES = ("infer", "train")


@dataclass(frozen=True)
class Part:
    """One timed piece of a network: the stem, a block, or the head.

    Attributes:
        name: Where it sits (``stem``, ``stages.3.1``, ``head``).
        key: What determines its time (kind and shape), the lookup-table key without mode and batch.
        role: ``stem``, ``block`` or ``head``.
        in_channels: Input channels.
        size_px: Input height = width (px).
        stage_index: The stage (blocks only).
        stride: The block's stride (blocks only).
    """

    name: str
    key: str
    role: str
    in_channels: int
    size_px: int
    stage_index: int = -1
    stride: int = 1


def _stage_key(stage: Any) -> str:
    data = stage.model_dump(mode="json", exclude={"num_layers", "stride"})
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def parts_of(spec: Any, resolution_px: int | None = None) -> list[Part]:
    """The parts of ``spec`` in network order, with their input channels and sizes (no torch).

    Raises:
        SpecError: A resolution below 1 px.
    """
    size = int(resolution_px or spec.resolution_px)
    if size < 1:
        raise SpecError(f"must be at least 1, got {size}", path="resolution_px", value=size)
    common = f"act={spec.activation},eps={spec.bn_eps}"
    parts = [Part("stem", f"stem|{spec.in_channels}>{spec.stem.out_channels}|k{spec.stem.kernel_size}|"
                          f"s{spec.stem.stride}|{size}px|{common}", "stem", spec.in_channels, size)]
    size = conv_output_size(size, spec.stem.kernel_size, spec.stem.stride)
    channels = spec.stem.out_channels
    for i, stage in enumerate(spec.stages):
        for j in range(stage.num_layers):
            stride = stage.stride if j == 0 else 1
            key = f"block|{channels}>|s{stride}|{size}px|{common}|{_stage_key(stage)}"
            parts.append(Part(f"stages.{i}.{j}", key, "block", channels, size, i, stride))
            size = conv_output_size(size, stage.kernel_size, stride)
            channels = stage.out_channels
    parts.append(Part("head", f"head|{channels}>{spec.head_channels}>{spec.num_classes}|{size}px|{common}", "head",
                      channels, size))
    return parts


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


def _cache_dir() -> Path:
    root = os.environ.get("NASGEN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "nasgen"
    )
    return Path(root) / "latency"


class LatencyTable:
    """A per-part time table for one device key, cached as JSON and filled lazily.

    Args:
        key: :func:`device_key` (another thread count, dtype or memory format is another table).
        folder: Where tables live (default ``$NASGEN_CACHE_DIR/latency`` or ``~/.cache/nasgen/latency``).
        on_measure: Called as ``on_measure(part_name, mode, batch)`` before each new measurement (progress).
    """

    def __init__(self, key: dict[str, Any], folder: Path | None = None,
                 on_measure: Callable[[str, str, int], None] | None = None) -> None:
        self.key = dict(key)
        digest = hashlib.sha256(json.dumps(self.key, sort_keys=True).encode()).hexdigest()[:16]
        self.path = (folder or _cache_dir()) / f"{self.key['device']}-{digest}.json"
        self.on_measure = on_measure
        self.entries: dict[str, float] = {}
        self.measured = 0
        if self.path.is_file():
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("key") == self.key:
                self.entries = {k: float(v) for k, v in data.get("entries", {}).items()}

    def save(self) -> None:
        """Write the table (atomically: a temporary file renamed over the old one)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": self.key, "entries": self.entries}, indent=0, sort_keys=True),
                       encoding="utf-8")
        tmp.replace(self.path)

    def factor(self, mode: str, batch: int) -> float:
        """The calibration factor for ``mode`` and ``batch`` (:func:`calibrate`), 1.0 when not calibrated."""
        return self.entries.get(f"factor|{mode}|b{batch}", 1.0)

    def per_part_ms(self, mode: str, batch: int) -> float:
        """The calibrated time (ms) each part adds inside a network beyond its own (0.0 when not calibrated)."""
        return self.entries.get(f"per_part|{mode}|b{batch}", 0.0)

    def calibrated(self, mode: str, batch: int) -> bool:
        """Whether :func:`calibrate` has run for ``mode`` and ``batch`` on this table."""
        return f"factor|{mode}|b{batch}" in self.entries

    def has(self, part: Part, mode: str, batch: int) -> bool:
        """Whether the table holds ``part`` in ``mode`` at ``batch`` images."""
        return f"{mode}|b{batch}|{part.key}" in self.entries

    def part_ms(self, spec: Any, part: Part, mode: str, batch: int) -> float:
        """The part's time in ms in ``mode`` at ``batch`` images, measured now if the table lacks it."""
        entry = f"{mode}|b{batch}|{part.key}"
        if entry not in self.entries:
            if self.on_measure is not None:
                self.on_measure(part.name, mode, batch)
            module = _build_part(spec, part)
            self.entries[entry] = _time_module(module, part, mode, batch, self.key)
            self.measured += 1
            self.save()
        return self.entries[entry]

    def retime(self, spec: Any, part: Part, mode: str, batch: int) -> float:
        """Measure a part the table holds once more and keep the faster of the two times (ms).

        A shared or virtualised CPU stalls now and then for seconds; a part timed during a stall would be
        stored many times too slow (measured here: 733 ms for a block that takes 43 ms) and mislead every
        prediction that contains it. Two timings taken apart in time rarely both fall into a stall, and the
        faster is the better estimate of the part's own cost (the convention of ``timeit``).
        """
        entry = f"{mode}|b{batch}|{part.key}"
        again = _time_module(_build_part(spec, part), part, mode, batch, self.key)
        self.entries[entry] = min(self.entries.get(entry, again), again)
        self.save()
        return self.entries[entry]


@dataclass(frozen=True)
class LatencyPrediction:
    """A predicted time: the sum over the parts, times the table's calibration factor, plus a calibrated time
    per part.

    Attributes:
        total_ms: Predicted time (ms) = ``factor · parts_ms + per_part_ms · len(parts)``.
        mode: ``infer`` or ``train``.
        batch: Images per call.
        parts: ``(part name, ms)`` in network order, as measured alone; they add up to ``parts_ms``.
        parts_ms: The plain sum of the parts (ms).
        factor: Calibration factor of the table for this mode and batch (1.0 when not calibrated).
        measured_now: Parts that were not in the table and were measured for this prediction.
        per_part_ms: Calibrated time each part adds inside a network (0.0 when not calibrated).
    """

    total_ms: float
    mode: str
    batch: int
    parts: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    parts_ms: float = 0.0
    factor: float = 1.0
    measured_now: int = 0
    per_part_ms: float = 0.0


def predict_latency(spec: Any, table: LatencyTable, *, mode: str = "infer", batch: int = 1,
                    resolution_px: int | None = None) -> LatencyPrediction:
    """Predicted time of ``spec`` = factor · (stem + every block + head) + per-part time · number of parts, from
    ``table`` (filling it as needed).

    Each part new to the table is timed twice, the second time after the network's other new parts, and the
    faster time is kept (:meth:`LatencyTable.retime`). A part timed alone runs with its weights and activations
    hot in cache; inside a network the parts evict each
    other, so the sum of parts under-predicts the whole on a CPU (B0 at 224 px, 1 thread: 35 ms summed vs
    68 ms whole), and each part adds a little inside a network that it does not alone (measured at batch 1,
    1 thread: ≈ 0.09 ms a part). :func:`calibrate` fits the factor and the per-part time once per table, mode
    and batch on a few networks.

    Raises:
        SpecError: Unknown mode, batch < 1, a bad resolution.
    """
    _check(mode, batch)
    before = table.measured
    parts = parts_of(spec, resolution_px)
    fresh = {part.key: part for part in parts if not table.has(part, mode, batch)}
    for part in parts:
        table.part_ms(spec, part, mode, batch)
    for part in fresh.values():  # a second timing of each new part, after all the others' first one
        table.retime(spec, part, mode, batch)
    times = tuple((part.name, table.part_ms(spec, part, mode, batch)) for part in parts)
    raw = sum(ms for _, ms in times)
    factor, per_part = table.factor(mode, batch), table.per_part_ms(mode, batch)
    return LatencyPrediction(factor * raw + per_part * len(times), mode, batch, times, raw, factor,
                             table.measured - before, per_part)


def calibrate(table: LatencyTable, specs: list[Any], *, mode: str = "infer", batch: int = 1,
              resolution_px: int | None = None) -> float:
    """Fit and store the table's factor ``a`` and per-part time ``b`` (ms) for ``mode`` and ``batch`` so that a
    network's time ≈ ``a · Σ parts + b · number of parts``, by least squares on the relative error over
    ``specs``, both non-negative (with one network, or networks of one part count, ``b`` = 0).

    Each network is measured in two passes over ``specs`` and its faster time kept, as the parts are
    (:meth:`LatencyTable.retime`). Validated in ``benchmarks/latency_model.py``.

    Returns:
        The factor ``a``.

    Raises:
        SpecError: Unknown mode, batch < 1, a bad resolution, no ``specs``.
    """
    _check(mode, batch)
    if not specs:
        raise SpecError("needs at least one network to calibrate on", path="specs", value=[])

    def whole(spec: Any) -> float:
        return measure_latency(spec, mode=mode, batch=batch, resolution_px=resolution_px,
                               device=table.key["device"], channels_last=table.key["channels_last"])

    first = [whole(spec) for spec in specs]  # two passes over the networks, the faster time of each kept
    rows = []
    for spec, time_1 in zip(specs, first, strict=True):
        time_ms = min(time_1, whole(spec))
        prediction = predict_latency(spec, table, mode=mode, batch=batch, resolution_px=resolution_px)
        rows.append((prediction.parts_ms, float(len(prediction.parts)), time_ms))
    factor, per_part = _fit_relative(rows)
    table.entries[f"factor|{mode}|b{batch}"] = factor
    table.entries[f"per_part|{mode}|b{batch}"] = per_part
    table.save()
    return factor


def _fit_relative(rows: list[tuple[float, float, float]]) -> tuple[float, float]:
    """``(a, b) ≥ 0`` minimising Σ ((a·p + b·n − t) / t)² over ``(p, n, t)`` rows; ``b`` = 0 when not determined."""
    xs = [(p / t, n / t) for p, n, t in rows]
    spp = sum(x * x for x, _ in xs)
    snn = sum(y * y for _, y in xs)
    spn = sum(x * y for x, y in xs)
    sp1 = sum(x for x, _ in xs)
    sn1 = sum(y for _, y in xs)
    det = spp * snn - spn * spn
    if len(rows) >= 2 and det > 1e-12 * spp * snn:
        a = (sp1 * snn - sn1 * spn) / det
        b = (spp * sn1 - spn * sp1) / det
        if a > 0 and b >= 0:
            return a, b
    return (sp1 / spp if spp else 1.0), 0.0


def measure_latency(spec: Any, *, mode: str = "infer", batch: int = 1, resolution_px: int | None = None,
                    device: str = "cpu", channels_last: bool = True, min_seconds: float = 0.3) -> float:
    """Measured end-to-end time (ms, median of repeats after warm-up) of the whole network built from ``spec``.

    Raises:
        SpecError: Unknown mode, batch < 1, or the model cannot be built.
    """
    from nasgen.nn import build_model

    _check(mode, batch)
    model = build_model(spec.replace(resolution_px=int(resolution_px or spec.resolution_px)))
    size = int(resolution_px or spec.resolution_px)
    part = Part("network", "", "network", spec.in_channels, size)
    key = {"device": device, "channels_last": channels_last}
    return _time_module(model, part, mode, batch, key, min_seconds=min_seconds)


def _check(mode: str, batch: int) -> None:
    if mode not in MODES:
        raise SpecError(f"expected one of {', '.join(MODES)}, got {mode!r}", path="mode", value=mode)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise SpecError(f"must be a positive integer, got {batch!r}", path="batch", value=batch)


def _build_part(spec: Any, part: Part) -> Any:
    from torch import nn

    from nasgen.nn import ConvBnAct, block_options, block_registry

    bn = {"bn_eps": spec.bn_eps, "bn_momentum": spec.bn_momentum}
    if part.role == "stem":
        stem = spec.stem
        return ConvBnAct(spec.in_channels, stem.out_channels, stem.kernel_size, stem.stride,
                         activation=spec.activation, padding=spec.padding, **bn)
    if part.role == "head":
        return nn.Sequential(
            ConvBnAct(part.in_channels, spec.head_channels, 1, activation=spec.activation, **bn),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(spec.head_channels, spec.num_classes),
        )
    stage = spec.stages[part.stage_index]
    builder = block_registry[stage.kind]
    return builder(stage, in_channels=part.in_channels, stride=part.stride, drop_path_rate=0.0,
                   activation=spec.activation, **bn, **block_options(spec))


def _time_module(module: Any, part: Part, mode: str, batch: int, key: dict[str, Any],
                 min_seconds: float = 0.15) -> float:
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
        return _median_ms(step, sync, min_seconds)


def _median_ms(step: Callable[[], None], sync: Callable[[], None], min_seconds: float) -> float:
    for _ in range(2):  # warm-up: allocator, oneDNN primitive caches
        step()
    sync()
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < 5 or (time.perf_counter() - start < min_seconds and len(samples) < 200):
        begin = time.perf_counter()
        step()
        sync()
        samples.append(1000.0 * (time.perf_counter() - begin))
    return statistics.median(samples)
