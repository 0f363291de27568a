"""What a report shows, gathered once from a run record (``nasgen.search``'s public reader only)."""

from __future__ import annotations

import csv
import json
import math
import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nasgen.errors import ReportError
from nasgen.search import (
    CONFIRM_FIELDS,
    FamilyMember,
    Importances,
    LeaderboardRow,
    Run,
    TrialRecord,
    leaderboard,
    param_importances,
    scaled_family,
    trial_params,
    trial_times,
)

__all__ = ["LEADERBOARD_ROWS", "ConfirmRow", "ReportData", "gather"]

LEADERBOARD_ROWS = 20
"""Rows of the leaderboard, as many as ``leaderboard.csv`` holds (``write_outputs``' ``top_k``)."""

_CONFIRM_KEY = re.compile(r"^confirm:(?P<hash>[0-9a-f]+):(?P<epochs>\d+):(?P<seed>\d+)$")


@dataclass(frozen=True)
class ConfirmRow:
    """One confirmed architecture: mean ± sd of validation top-1 over seeds (fractions).

    Attributes:
        hash: ``ArchSpec.content_hash()``.
        label: ``trial N`` or a baseline's name.
        trial: Search trial number.
        macs: Conv + linear MACs (DESIGN.md).
        params: Trainable parameters.
        seeds: Seeds trained.
        mean: Mean validation top-1 over seeds.
        sd: Sample standard deviation over seeds.
        tied: Not significantly below the best mean (None when not known).
        recommended: The confirmation's recommendation.
        p_vs_best: One-sided Welch p-value against the best mean (None when not known).
    """

    hash: str
    label: str
    trial: int
    macs: int
    params: int
    seeds: int
    mean: float
    sd: float
    tied: bool | None = None
    recommended: bool = False
    p_vs_best: float | None = None


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
    confirm, source = _confirmation(run, records, out)
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
        meta={k: v for k, v in meta.items() if not k.startswith("confirm:")},
        family=scaled_family(run),
    )


def _confirmation(run: Run, records: list[TrialRecord], out: Path | None) -> tuple[list[ConfirmRow], str]:
    """``confirm.csv`` (the run directory's, else the report folder's), else the per-seed results in the study."""
    for folder in (run.out, out):
        if folder is not None and (folder / "confirm.csv").is_file():
            return _read_confirm_csv(folder / "confirm.csv"), str(folder / "confirm.csv")
    return _from_attrs(run.meta, records), "study"


def _read_confirm_csv(path: Path) -> list[ConfirmRow]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not set(CONFIRM_FIELDS) <= set(reader.fieldnames):
            raise ReportError(f"{path}: not a confirm.csv written by nasgen (columns {reader.fieldnames})")
        return [
            ConfirmRow(
                hash=row["hash"], label=row["label"], trial=int(row["trial"]), macs=int(row["macs"]),
                params=int(float(row["params"] or 0)), seeds=int(row["seeds"]), mean=float(row["mean"]),
                sd=float(row["sd"]), tied=row["tied_with_best"] == "True", recommended=row["recommended"] == "True",
                p_vs_best=float(row["p_vs_best"]) if row["p_vs_best"] else None,
            )
            for row in reader
        ]


def _from_attrs(meta: dict[str, Any], records: list[TrialRecord]) -> list[ConfirmRow]:
    """Mean ± sd per architecture from the study's ``confirm:<hash>:<epochs>:<seed>`` results (the longest
    recipe per architecture), for a run whose ``confirm.csv`` is elsewhere or not written yet."""
    scores: dict[tuple[str, int], list[float]] = {}
    for key, value in meta.items():
        match = _CONFIRM_KEY.match(key)
        if match and isinstance(value, dict) and "val_top1" in value:
            scores.setdefault((match["hash"], int(match["epochs"])), []).append(float(value["val_top1"]))
    by_hash = {r.hash: r for r in reversed(records) if r.hash}
    chosen = meta.get("recommendation")
    rows = []
    for (digest, _epochs), values in sorted(scores.items(), key=lambda kv: kv[0][1]):
        record = by_hash.get(digest)
        if record is None:
            continue
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        rows = [r for r in rows if r.hash != digest]  # a longer recipe replaces a shorter one
        rows.append(ConfirmRow(
            hash=digest, label=record.enqueued or f"trial {record.number}", trial=record.number,
            macs=record.macs or 0, params=record.params or 0, seeds=len(values), mean=statistics.fmean(values),
            sd=sd, recommended=digest == chosen,
        ))
    return sorted(rows, key=lambda r: (-r.mean, r.macs))


def proxy_recipe(meta: dict[str, Any]) -> dict[str, Any]:
    """The proxy recipe recorded by the search (a JSON ``TrainConfig``), empty for a stand-in score."""
    text = meta.get("proxy")
    if not text:
        return {}
    try:
        return dict(json.loads(text))
    except (TypeError, ValueError):
        return {"recipe": str(text)}
