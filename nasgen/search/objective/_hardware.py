"""Hardware-aware search: predicted latency and training step time as limits, and the papers' rewards.

Objectives (``--objective``):

- ``accuracy``: the proxy's validation top-1 (the default).
- ``mnasnet``: ACC · (C / T)^w with w = −0.07 — the soft reward EfficientNet searched B0 with (EfficientNet §4,
  after MnasNet §3, Eq. 2 with α = β = −0.07): C = MACs and T = the MACs budget, or, when ``--max-latency`` is
  given, C = predicted latency (batch 1) and T = that limit.
- ``v2``: A · S^w · P^v with w = −0.07, v = −0.05 (EfficientNetV2 §3.3): S = predicted training step time and
  P = params, each normalized by EfficientNet-B0's (adapted to the data's classes and channels, at the same
  proxy batch and resolution), so B0 scores A · 1 · 1.

Predictions come from ``nasgen.cost``'s per-block lookup tables (latency at batch 1; step time at the proxy's
batch and resolution), measured on this machine the first time a block shape is met.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nasgen.config import REWARDS as OBJECTIVES
from nasgen.errors import SearchError

__all__ = ["OBJECTIVES", "HardwareCost", "Reward"]

MNASNET_W = -0.07
V2_W, V2_V = -0.07, -0.05


@dataclass(frozen=True)
class Reward:
    """A reward and its parts, as the leaderboard shows them.

    Attributes:
        value: The objective value of the trial.
        parts: ``{name: value}`` — e.g. ``accuracy``, ``macs_ratio`` (C/T), ``step_ratio`` (S), ``params_ratio``.
    """

    value: float
    parts: Mapping[str, float]


class HardwareCost:
    """Predicted latency and step time of architectures on this device, and the objective's reward.

    Args:
        objective: One of :data:`OBJECTIVES`.
        budget_macs: The MACs budget (T of the MnasNet reward without a latency limit).
        max_latency_ms: Latency limit at batch 1 (ms), or None.
        max_step_ms: Training-step limit at the proxy's batch and resolution (ms), or None.
        proxy_batch: The proxy's batch size (step time is predicted there).
        proxy_px: ``spec -> px``: the resolution the proxy trains ``spec`` at.
        reference: The architecture S and P are normalized by (B0 for the data), for ``v2``.
        device: ``cpu`` or ``cuda[:N]`` (the table's device).
        console: Progress lines while new blocks are measured; None is silent.
        calibration: Networks to calibrate the table on (:func:`nasgen.cost.calibrate`: factor and per-part
            time) before its first prediction in a mode, when the table has no calibration for that mode and
            batch yet (once per device key; the search passes 3 samples of its space). Empty: uncalibrated.

    Raises:
        SearchError: Unknown objective.
    """

    def __init__(
        self,
        objective: str,
        *,
        budget_macs: int,
        max_latency_ms: float | None = None,
        max_step_ms: float | None = None,
        proxy_batch: int = 128,
        proxy_px: Any = None,
        reference: Any = None,
        device: str = "cpu",
        console: Any = None,
        calibration: Any = (),
    ) -> None:
        if objective not in OBJECTIVES:
            raise SearchError(f"reward: expected one of {', '.join(OBJECTIVES)}, got {objective!r}")
        self.objective = objective
        self.budget_macs = budget_macs
        self.max_latency_ms = max_latency_ms
        self.max_step_ms = max_step_ms
        self.proxy_batch = proxy_batch
        self.proxy_px = proxy_px or (lambda spec: spec.resolution_px)
        self.reference = reference
        self.device = device
        self.console = console
        self._table: Any = None
        self.calibration = list(calibration)
        self._reference_costs: tuple[float, int] | None = None

    @property
    def needs_latency(self) -> bool:
        """Latency at batch 1 is needed (a limit or the MnasNet reward on latency)."""
        return self.max_latency_ms is not None

    @property
    def needs_step(self) -> bool:
        """The training step time is needed (a limit or the v2 reward)."""
        return self.max_step_ms is not None or self.objective == "v2"

    @property
    def active(self) -> bool:
        """Anything beyond MACs and accuracy is asked for."""
        return self.needs_latency or self.needs_step or self.objective != "accuracy"

    def table(self) -> Any:
        """The device's lookup table (created on first use)."""
        if self._table is None:
            from nasgen.nn import latency_table

            def progress(name: str, mode: str, batch: int) -> None:
                if self.console is not None:
                    self.console.print(f"latency table: measuring {name} ({mode}, batch {batch})", highlight=False)

            self._table = latency_table(self.device, on_measure=progress)
        return self._table

    def _calibrated_table(self, mode: str, batch: int) -> Any:
        table = self.table()
        if self.calibration and not table.calibrated(mode, batch):
            from nasgen.cost import calibrate

            if self.console is not None:
                self.console.print(f"latency table: calibrating on {len(self.calibration)} networks ({mode}, "
                                   f"batch {batch})", highlight=False)
            specs = self.calibration if mode == "infer" else [
                spec.replace(resolution_px=self.proxy_px(spec)) for spec in self.calibration
            ]
            calibrate(table, specs, mode=mode, batch=batch)
        return table

    def predict(self, spec: Any) -> dict[str, float]:
        """``{"latency_ms": …, "step_ms": …}`` as far as needed by the limits and the objective."""
        from nasgen.cost import predict_latency

        values: dict[str, float] = {}
        if self.needs_latency:
            values["latency_ms"] = predict_latency(spec, self._calibrated_table("infer", 1), mode="infer",
                                                   batch=1).total_ms
        if self.needs_step:
            values["step_ms"] = self.predict_step(spec)
        return values

    def violations(self, values: Mapping[str, float]) -> dict[str, float]:
        """Constraint values ``{name: value/limit − 1}`` of the latency and step-time limits."""
        out = {}
        if self.max_latency_ms is not None:
            out["latency"] = values["latency_ms"] / self.max_latency_ms - 1.0
        if self.max_step_ms is not None:
            out["step_time"] = values["step_ms"] / self.max_step_ms - 1.0
        return out

    def reason(self, values: Mapping[str, float]) -> str:
        """Why ``values`` break a limit, e.g. ``"latency 7.20 ms > max 5.00 ms"`` (empty when within)."""
        parts = []
        if self.max_latency_ms is not None and values["latency_ms"] > self.max_latency_ms:
            parts.append(f"latency {values['latency_ms']:.2f} ms > max {self.max_latency_ms:.2f} ms")
        if self.max_step_ms is not None and values["step_ms"] > self.max_step_ms:
            parts.append(f"step time {values['step_ms']:.1f} ms > max {self.max_step_ms:.1f} ms")
        return "; ".join(parts)

    def reward(self, accuracy: float, *, macs: int, params: int, values: Mapping[str, float]) -> Reward:
        """The objective's value for an architecture of ``accuracy`` and these costs (see the module doc)."""
        return reward(self.objective, accuracy, macs=macs, params=params, values=values,
                      budget_macs=self.budget_macs, max_latency_ms=self.max_latency_ms,
                      reference=self._reference() if self.objective == "v2" else None)

    def _reference(self) -> tuple[float, int]:
        if self._reference_costs is None:
            from nasgen.cost import count_cost

            step = self.predict_step(self.reference)
            self._reference_costs = (step, count_cost(self.reference).params)
        return self._reference_costs

    def predict_step(self, spec: Any) -> float:
        """Predicted training step time (ms) of ``spec`` at the proxy's batch and resolution."""
        from nasgen.cost import predict_latency

        return predict_latency(spec, self._calibrated_table("train", self.proxy_batch), mode="train",
                               batch=self.proxy_batch, resolution_px=self.proxy_px(spec)).total_ms


def reward(
    objective: str,
    accuracy: float,
    *,
    macs: int,
    params: int,
    values: Mapping[str, float],
    budget_macs: int,
    max_latency_ms: float | None = None,
    reference: tuple[float, int] | None = None,
) -> Reward:
    """The reward of one architecture (module doc); ``reference`` = (step ms, params) of B0 for ``v2``.

    Raises:
        SearchError: Unknown objective, or ``v2`` without a reference.
    """
    if objective == "accuracy":
        return Reward(accuracy, {"accuracy": accuracy})
    if objective == "mnasnet":
        if max_latency_ms is not None:
            ratio = values["latency_ms"] / max_latency_ms
            return Reward(accuracy * ratio**MNASNET_W, {"accuracy": accuracy, "latency_ratio": ratio})
        ratio = macs / budget_macs
        return Reward(accuracy * ratio**MNASNET_W, {"accuracy": accuracy, "macs_ratio": ratio})
    if objective == "v2":
        if reference is None:
            raise SearchError("reward v2 needs a reference architecture's step time and params")
        step_ratio, params_ratio = values["step_ms"] / reference[0], params / reference[1]
        value = accuracy * step_ratio**V2_W * params_ratio**V2_V
        return Reward(value, {"accuracy": accuracy, "step_ratio": step_ratio, "params_ratio": params_ratio})
    raise SearchError(f"reward: expected one of {', '.join(OBJECTIVES)}, got {objective!r}")
