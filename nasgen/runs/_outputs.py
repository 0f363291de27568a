"""Run-directory outputs: ``leaderboard.csv``, ``best.yaml``, the best trial's weights, the summary table.

The leaderboard ranks scored trials (``Run.leaderboard``: complete results before partial ones, then validation
top-1, ties to fewer MACs) and lists each architecture once: a trial that reused an earlier result (same hash)
is not listed again.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

import optuna
from rich.table import Table

from nasgen.runs._dir import RunDir
from nasgen.runs._reader import Run
from nasgen.runs._record import TrialRecord
from nasgen.spec import ArchSpec, save_spec
from nasgen.units import format_count

__all__ = [
    "LEADERBOARD_FIELDS",
    "LeaderboardRow",
    "best_record",
    "best_yaml_text",
    "leaderboard",
    "near_chance",
    "near_chance_warning",
    "summary_table",
    "summary_title",
    "write_family",
    "write_outputs",
]


@dataclass(frozen=True)
class LeaderboardRow:
    """One line of ``leaderboard.csv``.

    Attributes:
        rank: 1 = best validation top-1 (complete results before partial ones).
        trial: Optuna trial number (``trials/<trial>/arch.yaml``).
        display: The stages in timm notation, space-separated.
        params: Trainable parameters.
        macs: Conv + linear MACs at the architecture's resolution (docs/design.md convention).
        val_top1: Validation top-1 (fraction) under the proxy, or the stand-in score.
        train_seconds: Proxy training wall time in s.
        hash: ``ArchSpec.content_hash()``.
        resolution_px: The architecture's own input resolution (px), at which ``macs`` are counted.
        proxy_px: The resolution the proxy trained at (px; empty for a stand-in score).
        status: ``complete``, or ``partial`` when the time limit stopped the trial after ``epochs`` epochs.
        epochs: Proxy epochs trained.
        reward: The objective's value under ``mnasnet`` / ``v2`` (rows are ranked by it), else empty.
        latency_ms: Predicted latency at batch 1 (ms), when a latency limit or reward asked for it.
        step_ms: Predicted training step time at the proxy's batch and resolution (ms), when asked for.
        evaluator: What scored it (``proxy``, ``supernet``, ``zero-cost:synflow``, ``stand-in``).
    """

    rank: int
    trial: int
    display: str
    params: int
    macs: int
    val_top1: float
    train_seconds: float
    hash: str
    resolution_px: int | None = None
    proxy_px: int | None = None
    status: str = "complete"
    epochs: int | None = None
    reward: float | None = None
    latency_ms: float | None = None
    step_ms: float | None = None
    evaluator: str | None = None


LEADERBOARD_FIELDS = tuple(LeaderboardRow.__dataclass_fields__)


def _row(rank: int, record: TrialRecord) -> LeaderboardRow:
    return LeaderboardRow(
        rank=rank,
        trial=record.number,
        display=record.display,
        params=int(record.params or 0),
        macs=int(record.macs or 0),
        val_top1=float(record.val_top1 if record.val_top1 is not None else float("nan")),
        train_seconds=float(record.train_seconds or 0.0),
        hash=record.hash or "",
        resolution_px=record.resolution_px,
        proxy_px=record.proxy_px,
        status=record.state,
        epochs=record.epochs,
        reward=record.reward,
        latency_ms=record.latency_ms,
        step_ms=record.step_ms,
        evaluator=record.scored_by,
    )


def leaderboard(study: optuna.Study, top_k: int | None = None) -> list[LeaderboardRow]:
    """The ``top_k`` best distinct scored architectures of ``study`` (all when ``top_k`` is None)."""
    return [_row(rank, r) for rank, r in enumerate(Run(study).leaderboard(top_k), start=1)]


def best_record(study: optuna.Study) -> TrialRecord | None:
    """The trial ``best.yaml`` names (:meth:`Run.best`), or None."""
    return Run(study).best()


def best_yaml_text(record: TrialRecord, study_name: str) -> str:
    """``best.yaml``: a comment naming study, trial, score, MACs and params, then the architecture."""
    score = record.val_top1
    if record.proxy_px is None:  # a stand-in scorer: no training, the score is whatever it returned
        shown = f"stand-in score {score:g}" if score is not None else "no score"
    else:
        value = "—" if score is None else f"{100 * score:.2f} %"
        partial = ", partial: stopped by the time limit" if record.partial else ""
        shown = f"proxy val top-1 {value} ({record.epochs or 0} epoch(s) at {record.proxy_px} px{partial})"
    header = (
        f"# nasgen search, study {study_name}: trial {record.number}, {shown}; {format_count(record.macs or 0)} MACs "
        f"at {record.resolution_px} px, {format_count(record.params or 0)} params\n"
    )
    return header + (record.spec_yaml or "")


def write_outputs(study: optuna.Study, out: Path, *, top_k: int = 20) -> list[LeaderboardRow]:
    """Write ``leaderboard.csv`` and ``best.yaml`` into ``out``; keep only the best trial's weights.

    Returns:
        The leaderboard rows written.
    """
    files = RunDir(out)
    files.root.mkdir(parents=True, exist_ok=True)
    rows = leaderboard(study, top_k)
    with files.leaderboard_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=LEADERBOARD_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))
    _write_trial_specs(study, files)
    best = best_record(study)
    if best is not None and best.spec_yaml is not None:
        files.best_yaml.write_text(best_yaml_text(best, study.study_name), encoding="utf-8")
        keep = files.trial_weights(best.number)
        for weights in files.trials.glob(f"*/{keep.name}"):
            if weights != keep:
                weights.unlink()
    return rows


def _write_trial_specs(study: optuna.Study, files: RunDir) -> None:
    """``trials/<n>/arch.yaml`` of every trial of the study with an architecture, also those other workers or
    machines ran, so that any worker's run directory holds the same files (written only where missing)."""
    for record in Run(study).records():
        path = files.trial_arch(record.number)
        if record.spec_yaml is not None and not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(record.spec_yaml, encoding="utf-8")


def _percent(value: float) -> str:
    return f"{100 * value:.2f}%" if 0 <= value <= 1 else f"{value:g}"


def summary_title(study: optuna.Study, budget_macs: int) -> str:
    """``study NAME: budget 400M MACs — 5 evaluated, 1 partial, 2 infeasible, 1 pruned, 0 failed, 1 interrupted``."""
    counts = Run(study).state_counts()
    parts = [f"{counts.get('complete', 0)} evaluated"]
    for state in ("partial", "infeasible", "pruned", "failed", "interrupted", "running"):
        if counts.get(state) or state in ("infeasible", "pruned", "failed"):
            parts.append(f"{counts.get(state, 0)} {state}")
    return f"study {study.study_name}: budget {format_count(budget_macs)} MACs — " + ", ".join(parts)


def summary_table(study: optuna.Study, rows: list[LeaderboardRow], budget_macs: int, top_k: int = 10) -> Table:
    """A rich table of the top ``top_k`` rows, titled with the trial counts by outcome."""
    table = Table(title=summary_title(study, budget_macs), title_justify="left")
    extra = [name for name, present in (("reward", any(r.reward is not None for r in rows)),
                                        ("latency", any(r.latency_ms is not None for r in rows)),
                                        ("step", any(r.step_ms is not None for r in rows))) if present]
    headers = ("rank", "trial", *extra, "val top-1", "MACs", "params", "proxy px", "train s", "scored by", "hash",
               "stages")
    for header in headers:
        table.add_column(header, justify="right" if header not in ("hash", "stages") else "left")
    for row in rows[:top_k]:
        cells = {"reward": f"{row.reward:.4f}" if row.reward is not None else "—",
                 "latency": f"{row.latency_ms:.2f} ms" if row.latency_ms is not None else "—",
                 "step": f"{row.step_ms:.0f} ms" if row.step_ms is not None else "—"}
        table.add_row(
            str(row.rank),
            str(row.trial),
            *(cells[name] for name in extra),
            _percent(row.val_top1) + (" (partial)" if row.status == "partial" else ""),
            format_count(row.macs),
            format_count(row.params),
            "—" if row.proxy_px is None else str(row.proxy_px),
            f"{row.train_seconds:.1f}",
            row.evaluator or "—",
            row.hash[:12],
            row.display,
        )
    return table


TIE_Z = 1.96 * 2**0.5
"""A difference of two single proxy runs is within the noise when below 1.96·√2 seed standard deviations (95 %)."""

DOCUMENTED_B0_SD = 0.0159
"""B0's proxy seed sd on the embedded data under the default CPU proxy (docs/proxy.md, machine B)."""


def tie_note(rows: list[LeaderboardRow], study_attrs: dict) -> str | None:
    """Which leaderboard rows are within the proxy's seed noise of the first (ties), in words.

    The noise is the proxy's own seed sd when the study measured it (``--measure-noise``), else the documented
    figure for B0, said so. Returns None for fewer than two rows or stand-in scores.
    """
    if len(rows) < 2 or not all(0 <= r.val_top1 <= 1 for r in rows):
        return None
    measured = study_attrs.get("proxy_noise_sd")
    sd = float(measured) if measured is not None else DOCUMENTED_B0_SD
    threshold = TIE_Z * sd
    tied = [r for r in rows[1:] if rows[0].val_top1 - r.val_top1 < threshold]
    source = (
        f"the proxy's seed sd, {100 * sd:.2f} points, measured on trial {study_attrs.get('proxy_noise_trial')} "
        f"with {study_attrs.get('proxy_noise_seeds')} seeds"
        if measured is not None
        else f"the proxy's seed sd was not measured for this study (B0 on the embedded data: {100 * sd:.2f} points, "
        "docs/proxy.md; --measure-noise measures it)"
    )
    if not tied:
        verdict = f"no other row is within {100 * threshold:.2f} points of the first"
    else:
        verdict = (
            f"ranks 1–{tied[-1].rank} ({len(tied) + 1} architectures) are within {100 * threshold:.2f} points "
            f"(1.96·√2 sd) of the first: a tie, not a ranking"
        )
    return f"{source}: {verdict}; `nasgen confirm` retrains the top with seeds and tells them apart"


CHANCE_MARGIN = 0.05
"""A best proxy top-1 within this of chance (1 / classes) is flagged: the ranking is likely noise."""


def near_chance(val_top1: float, num_classes: int | None) -> bool:
    """Whether an accuracy (fraction) is within :data:`CHANCE_MARGIN` of chance for ``num_classes`` classes."""
    if not num_classes or num_classes < 2 or not 0 <= val_top1 <= 1:
        return False
    return val_top1 <= 1.0 / num_classes + CHANCE_MARGIN


def near_chance_warning(rows: list[LeaderboardRow], num_classes: int | None, epochs: int | None) -> str | None:
    """A warning when the best proxy score is within 5 points of chance (1 / classes), with likely causes.

    Returns:
        The message, or None when the best score is clearly above chance (or the scores are stand-ins).
    """
    if not rows or not near_chance(rows[0].val_top1, num_classes):
        return None
    chance = 1.0 / num_classes
    causes = []
    if epochs is not None and epochs <= 1:
        causes.append(f"too few proxy epochs ({epochs}: try --epochs 3)")
    if rows[0].proxy_px is not None and rows[0].proxy_px < 24:
        causes.append(f"too small a proxy input ({rows[0].proxy_px} px: try --proxy-resolution)")
    causes.append("a learning rate too high or too low for this data (--lr)")
    causes.append("too few images per class (--images-per-epoch, or more data)")
    return (
        f"the best proxy score, {_percent(rows[0].val_top1)}, is within 5 points of chance ({_percent(chance)} for "
        f"{num_classes} classes): the ranking is likely noise. Likely causes: " + "; ".join(causes)
    )


def write_family(spec: ArchSpec, phis: list[float], out: Path) -> list[Path]:
    """Write ``nasgen.scale_family(spec, phis)`` (EfficientNet §3.3 compound scaling) as
    ``scaled/<name>-phi<φ>.yaml`` in the run directory ``out``.

    Raises:
        SpecError: A bad φ (negative, not a number).
    """
    from nasgen.hooks import scale_family

    folder = RunDir(out).scaled
    return [save_spec(member, folder / f"{member.name}.yaml") for member in scale_family(spec, phis)]
