"""``nasgen report``: a search run as one self-contained report.html plus its figures."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from nasgen.cli._common import console, user_errors


@user_errors
def report(
    run: str = typer.Argument(..., help="A search run directory, or a storage URL with --study-name."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Report folder (default: the run directory)."),
    study_name: Optional[str] = typer.Option(None, help="Study name, for a storage URL holding several."),
) -> None:
    """Draw a search: accuracy vs MACs (Pareto front, budget, baselines, recommendation, confirmation error
    bars), optimization history, parameter importances and per-stage choices of the top 10 %, the
    leaderboard and the run's facts. Writes report.html (opens offline: figures inline, nothing fetched) and
    the PNG figures beside it. Works on a study still running (a snapshot). MACs are conv + linear at batch 1.
    """
    from nasgen.report import write_report

    result = write_report(run, out, study_name=study_name)
    console.print(f"written: {result.html} ({result.seconds:.1f} s)", highlight=False, soft_wrap=True)
    for path in result.figures.values():
        console.print(f"  {path.name}", highlight=False, soft_wrap=True)
    for stem, why in result.notes.items():
        console.print(f"  no {stem}.png: {why}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``nasgen report`` to the app (the command is the module-level :func:`report`)."""
    app.command("report")(report)
