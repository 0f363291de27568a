"""A run's confirmation, as stored: per-seed results in the study and ``confirm.csv`` in the run directory.

``nasgen confirm`` (``nasgen.search.confirm``) trains architectures with seeds and stores each result at once as
the study attribute ``confirm:<hash>:<epochs>:<seed>`` (so a killed confirmation resumes and workers share it),
then writes the verdict to ``confirm.csv``. This module is the one home of both formats: the confirmation
writes through :func:`store_result` and :data:`CONFIRM_FIELDS`, the report reads through :func:`confirmation_of`.
"""

from __future__ import annotations

import csv
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasgen.errors import ReportError
from nasgen.runs._dir import RunDir
from nasgen.runs._reader import Run
from nasgen.runs._record import TrialRecord

__all__ = ["ARMS", "CONFIRM_FIELDS", "ConfirmRow", "confirmation_of", "read_confirm_csv", "store_result", "stored_result"]

CONFIRM_FIELDS = (
    "rank", "trial", "label", "baseline", "feasible", "macs", "params", "proxy_val_top1", "seeds", "mean", "sd",
    "ci95_low", "ci95_high", "p_vs_best", "tied_with_best", "recommended", "wall_seconds", "hash", "display",
)
"""The columns of ``confirm.csv``, in order."""

_KEY = "confirm:{hash}:{epochs}:{seed}"
_KEY_PATTERN = re.compile(r"^confirm:(?P<hash>[0-9a-f]+):(?P<epochs>\d+):(?P<seed>\d+)(?P<arm>:[a-z]+)?$")
ARMS = ("scratch", "inherited")
"""How a confirmation run starts: from scratch (the verdict's), or from weights inherited from the study's supernet
(``confirm --init inherited``, a second arm: its results carry the suffix ``:inherited``)."""


def _key(content_hash: str, epochs: int, seed: int, arm: str) -> str:
    key = _KEY.format(hash=content_hash, epochs=int(epochs), seed=int(seed))
    return key if arm == "scratch" else f"{key}:{arm}"


@dataclass(frozen=True)
class ConfirmRow:
    """One confirmed architecture: mean ± sd of validation top-1 over seeds (fractions).

    Attributes:
        hash: ``ArchSpec.content_hash()``.
        label: ``trial N`` or a baseline's name.
        trial: Search trial number.
        macs: Conv + linear MACs (the cost convention, docs/design.md).
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


def stored_result(
    run: Run, content_hash: str, epochs: int, seed: int, arm: str = "scratch"
) -> dict[str, float] | None:
    """The stored result ``{"val_top1", "seconds"}`` of one confirmation run, or None when not run yet."""
    value = run.study.user_attrs.get(_key(content_hash, epochs, seed, arm))
    return value if isinstance(value, dict) else None


def store_result(
    run: Run, content_hash: str, epochs: int, seed: int, *, val_top1: float, seconds: float, arm: str = "scratch"
) -> None:
    """Store one confirmation run's result in the study (at once: a killed confirmation resumes from here)."""
    run.study.set_user_attr(_key(content_hash, epochs, seed, arm), {"val_top1": float(val_top1),
                                                                    "seconds": float(seconds)})


def is_result_key(key: str) -> bool:
    """Whether a study attribute holds a confirmation result (not a setting of the study)."""
    return _KEY_PATTERN.match(key) is not None


def confirmation_of(run: Run, records: list[TrialRecord], out: Path | None = None) -> tuple[list[ConfirmRow], str]:
    """The run's confirmation: ``confirm.csv`` (the run directory's, else the one in ``out``), else the per-seed
    results stored in the study; and where it was read (a path, or ``"study"``).

    Raises:
        ReportError: A ``confirm.csv`` that nasgen did not write (other columns).
    """
    for folder in (run.out, out):
        if folder is not None and RunDir(folder).confirm_csv.is_file():
            path = RunDir(folder).confirm_csv
            return read_confirm_csv(path), str(path)
    return _from_attrs(run.meta, records), "study"


def read_confirm_csv(path: Path) -> list[ConfirmRow]:
    """The rows of a ``confirm.csv``.

    Raises:
        ReportError: Not a ``confirm.csv`` written by nasgen (its columns are named).
    """
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
        match = _KEY_PATTERN.match(key)
        if match and not match["arm"] and isinstance(value, dict) and "val_top1" in value:  # the scratch arm
            scores.setdefault((match["hash"], int(match["epochs"])), []).append(float(value["val_top1"]))
    by_hash = {r.hash: r for r in reversed(records) if r.hash}
    chosen = meta.get("recommendation")
    rows: list[ConfirmRow] = []
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
