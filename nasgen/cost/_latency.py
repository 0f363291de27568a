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

Timing a fresh table costs minutes for a large network on a small CPU, so a prediction can be bounded
(:class:`TimingBudget`, issue 30): the parts are timed in order of their share of the network's MACs, and once
the budget is spent no new part is timed — the rest are estimated from the parts timed so far (ms per MAC, by
kind), named in :attr:`LatencyPrediction.estimated`, and never stored in the table.

The parts live in :mod:`nasgen.cost._parts` (torch-free), the repeats of a timing in :mod:`nasgen.cost._timing`
(torch, on a module already built). A table measures through the :class:`LatencyTimer` it is given: building a
part or a network is ``nasgen.nn``'s, a layer above this one, so the timer is injected
(:class:`nasgen.nn.ModuleTimer`; ``nasgen.nn.latency_table(device)`` builds a table with it).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from nasgen.cost._budget import TimingBudget, TimingProgress, estimate_ms
from nasgen.cost._parts import Part, part_work, parts_of
from nasgen.cost._timing import Timing, check_mode
from nasgen.errors import SpecError

__all__ = [
    "RETIME_BELOW_S",
    "LatencyPrediction",
    "LatencyTable",
    "LatencyTimer",
    "calibrate",
    "predict_latency",
]

#: A new part whose first timing took less wall time than this (s) is timed a second time (see ``retime``).
RETIME_BELOW_S = 1.0


def _cache_dir() -> Path:
    root = os.environ.get("NASGEN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "nasgen"
    )
    return Path(root) / "latency"


class LatencyTimer(Protocol):
    """What a :class:`LatencyTable` measures with: builds a part or a whole network and times it on the table's
    device (:class:`nasgen.nn.ModuleTimer`; tests pass their own).
    """

    def time_part(self, spec: Any, part: Part, mode: str, batch: int, key: dict[str, Any]) -> Timing:
        """Build ``part`` of ``spec`` and time it alone in ``mode`` at ``batch`` images on ``key``'s device."""
        ...

    def time_network(self, spec: Any, mode: str, batch: int, resolution_px: int | None,
                     key: dict[str, Any]) -> Timing:
        """Build the whole network of ``spec`` (at ``resolution_px``, default the spec's) and time it."""
        ...


class LatencyTable:
    """A per-part time table for one device key, cached as JSON and filled lazily.

    Args:
        key: :func:`~nasgen.cost.device_key` (another thread count, dtype or memory format is another table).
        timer: Measures the parts the table lacks and the networks :func:`calibrate` fits on.
        folder: Where tables live (default ``$NASGEN_CACHE_DIR/latency`` or ``~/.cache/nasgen/latency``).
        on_measure: Called as ``on_measure(part_name, mode, batch)`` before each new measurement (progress).

    Attributes:
        measured: Parts measured into the table through this object (first timings; retimings not counted).
        seconds: Wall time of each entry's timings made through this object (s), by entry.
    """

    def __init__(self, key: dict[str, Any], timer: LatencyTimer, folder: Path | None = None,
                 on_measure: Callable[[str, str, int], None] | None = None) -> None:
        self.key = dict(key)
        self.timer = timer
        digest = hashlib.sha256(json.dumps(self.key, sort_keys=True).encode()).hexdigest()[:16]
        self.path = (folder or _cache_dir()) / f"{self.key['device']}-{digest}.json"
        self.on_measure = on_measure
        self.entries: dict[str, float] = {}
        self.measured = 0
        self.seconds: dict[str, float] = {}
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

    def _time(self, spec: Any, part: Part, mode: str, batch: int) -> float:
        timing = self.timer.time_part(spec, part, mode, batch, self.key)
        entry = f"{mode}|b{batch}|{part.key}"
        self.seconds[entry] = self.seconds.get(entry, 0.0) + timing.seconds
        return timing.ms

    def part_ms(self, spec: Any, part: Part, mode: str, batch: int) -> float:
        """The part's time in ms in ``mode`` at ``batch`` images, measured now if the table lacks it."""
        entry = f"{mode}|b{batch}|{part.key}"
        if entry not in self.entries:
            if self.on_measure is not None:
                self.on_measure(part.name, mode, batch)
            self.entries[entry] = self._time(spec, part, mode, batch)
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
        again = self._time(spec, part, mode, batch)
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
        parts: ``(part name, ms)`` in network order, as measured alone (or estimated); they add up to ``parts_ms``.
        parts_ms: The plain sum of the parts (ms).
        factor: Calibration factor of the table for this mode and batch (1.0 when not calibrated).
        measured_now: Parts that were not in the table and were measured for this prediction.
        per_part_ms: Calibrated time each part adds inside a network (0.0 when not calibrated).
        estimated: Parts (names, network order) whose time is an estimate: the budget was spent before they
            were timed (:func:`~nasgen.cost._budget.estimate_ms`); not stored in the table.
    """

    total_ms: float
    mode: str
    batch: int
    parts: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    parts_ms: float = 0.0
    factor: float = 1.0
    measured_now: int = 0
    per_part_ms: float = 0.0
    estimated: tuple[str, ...] = ()


def _group(spec: Any, part: Part) -> str:
    return f"block:{spec.stages[part.stage_index].kind}" if part.role == "block" else part.role


def predict_latency(spec: Any, table: LatencyTable, *, mode: str = "infer", batch: int = 1,
                    resolution_px: int | None = None, budget: TimingBudget | None = None) -> LatencyPrediction:
    """Predicted time of ``spec`` = factor · (stem + every block + head) + per-part time · number of parts, from
    ``table`` (filling it as needed).

    Each distinct part new to the table is timed once (repeated blocks share an entry), in order of its share of
    the network's MACs; one whose timing took under :data:`RETIME_BELOW_S` is timed a second time after the
    network's other new parts and the faster time kept (:meth:`LatencyTable.retime`; a longer timing spans a
    stall of the machine with its own repeats). A part timed alone runs with its weights and activations
    hot in cache; inside a network the parts evict each other, so the sum of parts under-predicts the whole on
    a CPU (B0 at 224 px, 1 thread: 35 ms summed vs 68 ms whole), and each part adds a little inside a network
    that it does not alone (measured at batch 1, 1 thread: ≈ 0.09 ms a part). :func:`calibrate` fits the
    factor and the per-part time once per table, mode and batch on a few networks.

    Args:
        spec: The architecture.
        table: The lookup table (filled with the parts timed).
        mode: ``infer`` or ``train``.
        batch: Images per call.
        resolution_px: Input size (px); default the spec's.
        budget: Bounds the wall time spent timing and receives progress reports; once spent, the parts not yet
            timed are estimated (named in ``estimated``), except that a prediction with nothing timed at all
            times one part first. ``None``: time every part.

    Raises:
        SpecError: Unknown mode, batch < 1, a bad resolution.
    """
    check_mode(mode, batch)
    budget = budget if budget is not None else TimingBudget()
    before = table.measured
    parts = parts_of(spec, resolution_px)
    distinct: dict[str, Part] = {}
    for part in parts:  # the first part of each key names it (stages.5.1 for stages.5.1…14)
        distinct.setdefault(part.key, part)
    count = {key: sum(p.key == key for p in parts) for key in distinct}
    work = {key: part_work(spec, part)[0] for key, part in distinct.items()}
    timed = [(_group(spec, p), work[k], table.part_ms(spec, p, mode, batch)) for k, p in distinct.items()
             if table.has(p, mode, batch)]  # fmt: skip
    fresh = sorted((p for p in distinct.values() if not table.has(p, mode, batch)),
                   key=lambda p: -count[p.key] * work[p.key])  # fmt: skip
    estimates = _time_fresh(spec, table, fresh, mode, batch, budget, timed, work)
    for part in fresh:  # a second timing of each quickly timed new part, after all the others' first one
        entry = f"{mode}|b{batch}|{part.key}"
        if part.key not in estimates and table.seconds.get(entry, 0.0) < RETIME_BELOW_S \
                and budget.fits(table.seconds.get(entry)):
            table.retime(spec, part, mode, batch)
    times = tuple((part.name, estimates[part.key] if part.key in estimates
                   else table.part_ms(spec, part, mode, batch)) for part in parts)  # fmt: skip
    raw = sum(ms for _, ms in times)
    factor, per_part = table.factor(mode, batch), table.per_part_ms(mode, batch)
    estimated = tuple(part.name for part in parts if part.key in estimates)
    budget.estimated += [f"{mode} {name}" for name in estimated]
    return LatencyPrediction(factor * raw + per_part * len(times), mode, batch, times, raw, factor,
                             table.measured - before, per_part, estimated)


def _time_fresh(spec: Any, table: LatencyTable, fresh: list[Part], mode: str, batch: int, budget: TimingBudget,
                timed: list[tuple[str, int, float]], work: dict[str, int]) -> dict[str, float]:
    """Time ``fresh`` in order while the budget allows; the estimated ms of the others, by key."""
    estimates: dict[str, float] = {}
    seconds_per_mac, done = None, 0
    for part in fresh:
        macs = work[part.key]
        cost_s = seconds_per_mac * macs if seconds_per_mac is not None else None
        left = sum(work[p.key] for p in fresh[fresh.index(part):] if p.key not in estimates)
        eta = seconds_per_mac * left if seconds_per_mac is not None else None
        if timed and not budget.fits(cost_s):
            estimates[part.key] = estimate_ms(macs, _group(spec, part), timed) or 0.0
            continue
        budget.report(TimingProgress(mode, batch, part.name, done, len(fresh), budget.elapsed_s(), eta, budget.seconds))
        ms = table.part_ms(spec, part, mode, batch)
        done += 1
        budget.timed += 1
        timed.append((_group(spec, part), macs, ms))
        spent = sum(table.seconds.get(f"{mode}|b{batch}|{p.key}", 0.0) for p in fresh)
        spent_macs = sum(work[p.key] for p in fresh if table.has(p, mode, batch) and p.key not in estimates)
        seconds_per_mac = spent / spent_macs if spent_macs else None
    budget.report(TimingProgress(mode, batch, "", done, len(fresh), budget.elapsed_s(), 0.0, budget.seconds))
    return estimates


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
    check_mode(mode, batch)
    if not specs:
        raise SpecError("needs at least one network to calibrate on", path="specs", value=[])

    def whole(spec: Any) -> float:
        return table.timer.time_network(spec, mode, batch, resolution_px, table.key).ms

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
