"""A stored random baseline: the best-so-far curves of random searches on the same space, budget and evaluator.

Yang et al. (ICLR 2020, "NAS evaluation is frustratingly hard", §4.1) ask every search to be shown against random
sampling on the same space and budget. ``nasgen search --baseline random`` (``SearchConfig.baseline``) runs
``baseline_seeds`` random searches of ``n_trials`` trials each, in their own run directories under
``<run>/baseline/``, and writes ``<run>/baseline-random.json``; ``benchmarks/search_quality.py`` writes the same
format. The report only reads it (:func:`read_baseline`), and draws the random band when the file's key — the
settings that decide what a score means — equals the run's.

Format (JSON)::

    {"format": "nasgen-baseline/1", "sampler": "random", "key": {budget_macs, space_hash, evaluator, proxy,
     data_fingerprint, objective, max_params, max_memory}, "runs": [{"seed": int, "best": [float | null, ...]}]}

``best[i]`` is the best feasible score among trials ``0…i`` of that seed's run (null until the first one).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BASELINE_FORMAT", "BASELINE_KEYS", "Baseline", "baseline_key", "best_so_far", "read_baseline",
           "write_baseline"]  # fmt: skip

BASELINE_FORMAT = "nasgen-baseline/1"
BASELINE_KEYS = ("budget_macs", "space_hash", "evaluator", "proxy", "data_fingerprint", "objective", "max_params",
                 "max_memory")  # fmt: skip
"""The study settings a baseline must share with a run to be drawn beside it (``study_meta``'s names)."""


def baseline_key(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of a study's settings (``Run.meta``) that a baseline must match."""
    return {k: meta.get(k) for k in BASELINE_KEYS}


def best_so_far(values: Sequence[float | None]) -> list[float | None]:
    """Running maximum of the finite values (None until the first one)."""
    out: list[float | None] = []
    best: float | None = None
    for v in values:
        if v is not None and math.isfinite(v) and (best is None or v > best):
            best = float(v)
        out.append(best)
    return out


@dataclass(frozen=True)
class Baseline:
    """A stored baseline: its sampler, key and one best-so-far curve per seed."""

    sampler: str
    key: dict[str, Any]
    runs: list[dict[str, Any]]
    path: Path

    def band(self) -> tuple[list[int], list[float], list[float], list[float]]:
        """``(trials, mean, low, high)``: per trial count (1-based), the mean, min and max over the seeds of the
        best so far, where every seed has a feasible score (shorter runs end the band at their length)."""
        curves = [r["best"] for r in self.runs if r.get("best")]
        n = min((len(c) for c in curves), default=0)
        xs, mean, low, high = [], [], [], []
        for i in range(n):
            column = [c[i] for c in curves]
            if any(v is None for v in column):
                continue
            xs.append(i + 1)
            mean.append(sum(column) / len(column))
            low.append(min(column))
            high.append(max(column))
        return xs, mean, low, high

    def matches(self, meta: Mapping[str, Any]) -> str:
        """Why this baseline does not belong beside a run with settings ``meta`` (empty: it does)."""
        theirs = baseline_key(meta)
        for k in BASELINE_KEYS:
            if self.key.get(k) != theirs.get(k):
                return f"{self.path.name}: {k} differs from the run's ({self.key.get(k)!r} vs {theirs.get(k)!r})"
        return ""


def write_baseline(path: str | Path, *, sampler: str, key: Mapping[str, Any], runs: Sequence[Mapping[str, Any]]) -> Path:
    """Write a baseline file atomically (``runs``: ``{"seed", "best"}`` each; see the module docstring)."""
    path = Path(path)
    payload = {"format": BASELINE_FORMAT, "sampler": sampler, "key": dict(key),
               "runs": [{"seed": int(r["seed"]), "best": list(r["best"])} for r in runs]}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, path)
    return path


def read_baseline(path: str | Path) -> Baseline | None:
    """The baseline in ``path``, or None when there is none or it is not one (unreadable, another format)."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("format") != BASELINE_FORMAT:
        return None
    runs = [r for r in payload.get("runs", []) if isinstance(r, dict) and isinstance(r.get("best"), list)]
    return Baseline(sampler=str(payload.get("sampler")), key=dict(payload.get("key") or {}), runs=runs, path=path)
