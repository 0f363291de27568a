"""Run-directory outputs: ``leaderboard.csv``, ``best.yaml``, the best trial's weights, the summary table.

The leaderboard ranks feasible, evaluated trials by validation top-1 (ties: fewer MACs first) and lists each
architecture once: a trial that reused an earlier result (same hash) is not listed again.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.table import Table

from nasgen.spec import ArchSpec, loads_spec, save_spec
from nasgen.units import format_count

__all__ = [
    "LEADERBOARD_FIELDS",
    "LeaderboardRow",
    "best_spec",
    "best_trial",
    "leaderboard",
    "summary_table",
    "write_family",
    "write_outputs",
]


@dataclass(frozen=True)
class LeaderboardRow:
    """One line of ``leaderboard.csv``.

    Attributes:
        rank: 1 = best validation top-1.
        trial: Optuna trial number (``trials/<trial>/arch.yaml``).
        display: The stages in timm notation, space-separated.
        params: Trainable parameters.
        macs: Conv + linear MACs at the architecture's resolution (DESIGN.md convention).
        val_top1: Validation top-1 (fraction) under the proxy, or the stand-in score.
        train_seconds: Proxy training wall time in s.
        hash: ``ArchSpec.content_hash()``.
    """

    rank: int
    trial: int
    display: str
    params: int
    macs: int
    val_top1: float
    train_seconds: float
    hash: str


LEADERBOARD_FIELDS = tuple(LeaderboardRow.__dataclass_fields__)


def _evaluated(study: optuna.Study) -> list[FrozenTrial]:
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return [
        t
        for t in done
        if t.user_attrs.get("feasible") and "val_top1" in t.user_attrs and "reused_from" not in t.user_attrs
    ]


def leaderboard(study: optuna.Study, top_k: int | None = None) -> list[LeaderboardRow]:
    """The ``top_k`` best distinct feasible architectures of ``study`` (all when ``top_k`` is None)."""
    ranked = sorted(_evaluated(study), key=lambda t: (-t.user_attrs["val_top1"], t.user_attrs["macs"], t.number))
    rows = []
    for rank, trial in enumerate(ranked[:top_k] if top_k is not None else ranked, start=1):
        attrs = trial.user_attrs
        rows.append(
            LeaderboardRow(
                rank=rank,
                trial=trial.number,
                display=attrs["display"],
                params=int(attrs["params"]),
                macs=int(attrs["macs"]),
                val_top1=float(attrs["val_top1"]),
                train_seconds=float(attrs.get("train_seconds", 0.0)),
                hash=attrs["hash"],
            )
        )
    return rows


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The feasible trial with the highest validation top-1 (also under NSGA-II), or None."""
    rows = leaderboard(study, top_k=1)
    return study.trials[rows[0].trial] if rows else None


def best_spec(trial: FrozenTrial) -> ArchSpec:
    """The architecture recorded on ``trial`` (its ``spec_yaml`` user attribute)."""
    return loads_spec(trial.user_attrs["spec_yaml"], file=f"<trial {trial.number}>")


def write_outputs(study: optuna.Study, out: Path, *, top_k: int = 20) -> list[LeaderboardRow]:
    """Write ``leaderboard.csv`` and ``best.yaml`` into ``out``; keep only the best trial's weights.

    Returns:
        The leaderboard rows written.
    """
    out.mkdir(parents=True, exist_ok=True)
    rows = leaderboard(study, top_k)
    with (out / "leaderboard.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=LEADERBOARD_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))
    if rows:
        best = study.trials[rows[0].trial]
        (out / "best.yaml").write_text(best.user_attrs["spec_yaml"], encoding="utf-8")
        for weights in (out / "trials").glob("*/weights.safetensors"):
            if weights.parent.name != str(best.number):
                weights.unlink()
    return rows


def summary_table(study: optuna.Study, rows: list[LeaderboardRow], budget_macs: int, top_k: int = 10) -> Table:
    """A rich table of the top ``top_k`` rows, titled with the trial counts by outcome."""
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    infeasible = sum(1 for t in complete if t.user_attrs.get("feasible") is False)
    pruned = sum(1 for t in trials if t.state == TrialState.PRUNED)
    failed = sum(1 for t in trials if t.state == TrialState.FAIL)
    title = (
        f"study {study.study_name}: budget {format_count(budget_macs)} MACs — {len(complete) - infeasible} evaluated, "
        f"{infeasible} infeasible, {pruned} pruned, {failed} failed"
    )
    table = Table(title=title, title_justify="left")
    for header in ("rank", "trial", "val top-1", "MACs", "params", "train s", "hash", "stages"):
        table.add_column(header, justify="right" if header not in ("hash", "stages") else "left")
    for row in rows[:top_k]:
        table.add_row(
            str(row.rank),
            str(row.trial),
            f"{100 * row.val_top1:.2f}%" if 0 <= row.val_top1 <= 1 else f"{row.val_top1:g}",
            format_count(row.macs),
            format_count(row.params),
            f"{row.train_seconds:.1f}",
            row.hash[:12],
            row.display,
        )
    return table


def write_family(spec: ArchSpec, phis: list[float], folder: Path) -> list[Path]:
    """Write ``nasgen.scale_family(spec, phis)`` (EfficientNet §3.3 compound scaling) as ``<name>-phi<φ>.yaml``.

    Raises:
        SpecError: A bad φ (negative, not a number).
    """
    from nasgen.hooks import scale_family

    return [save_spec(member, folder / f"{member.name}.yaml") for member in scale_family(spec, phis)]
