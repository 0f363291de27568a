"""The latency table's timer: the parts and networks of a spec, built here and timed by ``nasgen.cost``.

``nasgen.cost`` keeps the per-part table, the prediction and the repeats of a timing
(:func:`nasgen.cost.time_module`, on a module already built); building a module is this package's, a layer above
cost, so the table is handed a :class:`ModuleTimer` (:class:`nasgen.cost.LatencyTimer`) instead of importing
``nasgen.nn`` (docs/design.md, the layers).

Example:
    >>> from nasgen.cost import predict_latency
    >>> from nasgen.nn import latency_table
    >>> from nasgen.spec import load_spec
    >>> prediction = predict_latency(load_spec("efficientnet-b0"), latency_table("cpu"))  # 14 parts, timed once
    >>> prediction.total_ms > 0
    True
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from nasgen.cost import LatencyTable, Part, Timing, check_mode, device_key, time_module
from nasgen.nn._layers import ConvBnAct
from nasgen.nn._model import block_options, build_model
from nasgen.nn._registry import block_registry

__all__ = ["ModuleTimer", "build_part", "latency_table", "measure_latency", "measure_network"]


def build_part(spec: Any, part: Part) -> nn.Module:
    """The module of ``part`` (stem conv-BN-act, a block from the block registry, or the head), freshly built."""
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


def measure_network(spec: Any, *, mode: str = "infer", batch: int = 1, resolution_px: int | None = None,
                    device: str = "cpu", channels_last: bool = True, min_seconds: float = 0.3) -> Timing:
    """:func:`measure_latency` with the time the measurement took and its calls (:class:`nasgen.cost.Timing`).

    Raises:
        SpecError: Unknown mode, batch < 1, or the model cannot be built.
    """
    check_mode(mode, batch)
    size = int(resolution_px or spec.resolution_px)
    model = build_model(spec.replace(resolution_px=size))
    part = Part("network", "", "network", spec.in_channels, size)
    return time_module(model, part, mode, batch, {"device": device, "channels_last": channels_last},
                       min_seconds=min_seconds)


def measure_latency(spec: Any, *, mode: str = "infer", batch: int = 1, resolution_px: int | None = None,
                    device: str = "cpu", channels_last: bool = True, min_seconds: float = 0.3) -> float:
    """Measured end-to-end time (ms, median of repeats after warm-up) of the whole network built from ``spec``.

    Args:
        spec: The architecture.
        mode: ``infer`` (eval mode, no autograd) or ``train`` (forward, backward, a fused AdamW step).
        batch: Images per call.
        resolution_px: Input size (px); default the spec's.
        device: ``cpu`` or ``cuda[:N]``.
        channels_last: Time in the channels-last memory format.
        min_seconds: The repeats' least total time (s).

    Raises:
        SpecError: Unknown mode, batch < 1, or the model cannot be built.
    """
    return measure_network(spec, mode=mode, batch=batch, resolution_px=resolution_px, device=device,
                           channels_last=channels_last, min_seconds=min_seconds).ms


class ModuleTimer:
    """The :class:`nasgen.cost.LatencyTimer` of nasgen's own modules: a part as :func:`build_part` builds it
    (repeats over 0.15 s), a network as :func:`build_model` does (over 0.3 s), on the key's device and format."""

    def time_part(self, spec: Any, part: Part, mode: str, batch: int, key: dict[str, Any]) -> Timing:
        """Build ``part`` of ``spec`` and time it alone (:func:`nasgen.cost.time_module`)."""
        return time_module(build_part(spec, part), part, mode, batch, key)

    def time_network(self, spec: Any, mode: str, batch: int, resolution_px: int | None,
                     key: dict[str, Any]) -> Timing:
        """Build the whole network of ``spec`` and time it (:func:`measure_network`)."""
        return measure_network(spec, mode=mode, batch=batch, resolution_px=resolution_px, device=key["device"],
                               channels_last=key["channels_last"])


def latency_table(device: str = "cpu", *, folder: Path | None = None,
                  on_measure: Callable[[str, str, int], None] | None = None) -> LatencyTable:
    """The latency table of this machine's ``device`` (:func:`nasgen.cost.device_key`: its name, torch version,
    threads now, float32, channels-last), timed with a :class:`ModuleTimer`.

    Args:
        device: ``cpu`` or ``cuda[:N]``.
        folder: Where tables live (default ``$NASGEN_CACHE_DIR/latency`` or ``~/.cache/nasgen/latency``).
        on_measure: Called as ``on_measure(part_name, mode, batch)`` before each new measurement.

    Raises:
        SpecError: ``device`` is not ``cpu`` / ``cuda[:N]``, or CUDA is asked for without a CUDA device.
    """
    return LatencyTable(device_key(device), ModuleTimer(), folder=folder, on_measure=on_measure)
