"""What a report shows, gathered once from a run record (``nasgen.runs``' public reader only)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nasgen.errors import ReportError
from nasgen.runs import (
    ConfirmRow,
    FamilyMember,
    Importances,
    LeaderboardRow,
    Run,
    RunDir,
    TrialRecord,
    confirmation_of,
    read_baseline,
    is_result_key,
    leaderboard,
    param_importances,
    scaled_family,
    trial_params,
    trial_times,
)

__all__ = ["FIGURES", "LEADERBOARD_ROWS", "ConfirmRow", "ReportData", "gather"]

FIGURES = (
    ("accuracy_vs_macs", "Accuracy vs MACs"),
    ("history", "Optimization history"),
    ("importances", "Parameter importances"),
    ("stage_choices", "Per-stage choices: top 10 % vs all trials"),
)
"""Figure file stems and captions, in page order."""

LEADERBOARD_ROWS = 20
"""Rows of the leaderboard, as many as ``leaderboard.csv`` holds (``write_outputs``' ``top_k``)."""


@dataclass
class ReportData:
    """A run, read once: its records, leaderboard, confirmation, sampled parameters, times and importances."""

    run: Run
    records: list[TrialRecord]
    rows: list[LeaderboardRow]
    confirm: list[ConfirmRow]
    confirm_source: str
    params: dict[int, dict[str, Any]]
    times: dict[int, tuple[datetime | None, datetime | None]]
    importances: Importances
    counts: dict[str, int]
    meta: dict[str, Any] = field(default_factory=dict)
    family: list[FamilyMember] = field(default_factory=list)
    baseline: Any = None
    baseline_note: str = ""

    @property
    def budget_macs(self) -> int | None:
        """The search's MACs budget, when recorded."""
        value = self.meta.get("budget_macs")
        return None if value is None else int(value)

    @property
    def percent(self) -> bool:
        """Scores are accuracies in [0, 1] (shown in %), not a stand-in's arbitrary numbers."""
        scores = [r.val_top1 for r in self.records if r.val_top1 is not None and math.isfinite(r.val_top1)]
        return all(0.0 <= s <= 1.0 for s in scores)

    @property
    def scored(self) -> list[TrialRecord]:
        """Feasible trials with a score of their own (complete or partial), in trial order."""
        return [r for r in self.records if r.scored and r.feasible and math.isfinite(r.val_top1 or math.nan)]

    @property
    def recommended_hash(self) -> str | None:
        """The confirmation's recommendation, else the leaderboard's first architecture."""
        chosen = next((c.hash for c in self.confirm if c.recommended), None)
        return chosen or self.meta.get("recommendation") or (self.rows[0].hash if self.rows else None)

    def pareto(self) -> list[TrialRecord]:
        """Scored trials not dominated in (fewer MACs, higher score), by increasing MACs."""
        front: list[TrialRecord] = []
        for record in sorted(self.scored, key=lambda r: (r.macs or 0, -(r.val_top1 or 0.0))):
            if not front or (record.val_top1 or 0.0) > (front[-1].val_top1 or 0.0):
                front.append(record)
        return front

    def wall_seconds(self) -> float | None:
        """From the first trial's start to the last trial's end (or the latest start, for a live study)."""
        starts = [s for s, _ in self.times.values() if s is not None]
        ends = [e for _, e in self.times.values() if e is not None] + starts
        return None if not starts else (max(ends) - min(starts)).total_seconds()


def gather(run: Run, out: Path | None = None) -> ReportData:
    """Read everything the report shows from ``run``.

    Args:
        run: The run.
        out: The report folder (a ``confirm.csv`` there is read when the run directory has none).

    Raises:
        ReportError: The study holds no trial.
    """
    records = run.records()
    if not records:
        raise ReportError(f"run {run.location!r}: study {run.name!r} holds no trial yet; nothing to report")
    meta = run.meta
    confirm, source = confirmation_of(run, records, out)
    return ReportData(
        run=run,
        records=records,
        rows=leaderboard(run.study, LEADERBOARD_ROWS),
        confirm=confirm,
        confirm_source=source,
        params=trial_params(run),
        times=trial_times(run),
        importances=param_importances(run),
        counts=run.state_counts(),
        meta={k: v for k, v in meta.items() if not is_result_key(k)},
        family=scaled_family(run),
        **_baseline(run, meta),
    )


def _baseline(run: Run, meta: dict[str, Any]) -> dict[str, Any]:
    """The stored random baseline of the run directory when it belongs to this search (same space, budget,
    evaluator, data, recipe and limits), else why not (``{"baseline", "baseline_note"}``)."""
    if run.out is None:
        return {}
    baseline = read_baseline(RunDir(run.out).baseline("random"))
    if baseline is None:
        return {}
    why = baseline.matches(meta)
    if why:
        return {"baseline_note": f"random baseline not drawn: {why}"}
    if not baseline.band()[0]:
        return {"baseline_note": f"random baseline not drawn: {baseline.path.name} holds no feasible score"}
    return {"baseline": baseline}


def proxy_recipe(meta: dict[str, Any]) -> dict[str, Any]:
    """The proxy recipe recorded by the search (a JSON ``TrainConfig``), empty for a stand-in score."""
    text = meta.get("proxy")
    if not text:
        return {}
    try:
        return dict(json.loads(text))
    except (TypeError, ValueError):
        return {"recipe": str(text)}
