"""``nasgen confirm``: retrain the top of a search and its baselines with seeds; recommend with evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from nasgen.cli._common import console, err_console, user_errors


@user_errors
def confirm(
    run: str = typer.Argument(..., help="A search run directory, or a storage URL with --study-name."),
    top: int = typer.Option(3, help="Top-K feasible architectures by proxy score to confirm."),
    seeds: int = typer.Option(3, help="Seeds per architecture (at least 2: one seed has no spread)."),
    epochs: Optional[int] = typer.Option(None, help="Epochs of the confirmation recipe (default 2x the proxy's)."),
    data: Optional[str] = typer.Option(None, help="Dataset (default: the one the search used)."),
    study_name: Optional[str] = typer.Option(None, help="Study name, for a storage URL holding several."),
    out: Optional[Path] = typer.Option(None, help="Where confirm.csv and best.yaml go (default: the run)."),
    proxy_images: Optional[int] = typer.Option(
        None, min=2, help="Folder/list data: class-balanced images for the proxy (default: the search's)."
    ),
    loader_workers: Optional[int] = typer.Option(
        None, min=0, help="Folder/list data: decode processes (default: cores - 1, 1-8)."
    ),
    skip_bad_images: Optional[bool] = typer.Option(
        None, "--skip-bad-images/--no-skip-bad-images",
        help="Folder/list data: leave out files that cannot be decoded (default: as the search did).",
    ),
    init: str = typer.Option(
        "scratch", help="scratch (the verdict: every run from a fresh initialization) or inherited (a second arm after "
        "--evaluator supernet: from the supernet's weights; confirm-inherited.csv)."
    ),
) -> None:
    """Confirm a search: train its top-K architectures and every enqueued baseline with several seeds under a
    longer recipe, then recommend the cheapest architecture (MACs) whose mean top-1 is not significantly below
    the best mean (one-sided Welch t-test at 5 %). Writes confirm.csv and best.yaml (with its evidence);
    results are stored in the study as they come, so the same command resumes.
    """
    from nasgen.runs import open_run
    from nasgen.search import confirm as run_confirm

    handle = open_run(run, study_name=study_name) if "://" in run or study_name else run
    verdict = run_confirm(handle, top=top, seeds=seeds, epochs=epochs, data=data, out=out, console=err_console,
                          proxy_images=proxy_images, loader_workers=loader_workers, skip_bad_images=skip_bad_images,
                          init=init)
    console.print(verdict_table(verdict), soft_wrap=not console.is_terminal)
    console.print(verdict.text, highlight=False, soft_wrap=True, markup=False)
    best = "" if init == "inherited" else f" and {verdict.csv_path.parent / 'best.yaml'}"
    console.print(f"written: {verdict.csv_path}{best}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``nasgen confirm`` to the app (the command is the module-level :func:`confirm`)."""
    app.command("confirm")(confirm)


def verdict_table(verdict):
    """The confirmation as a rich table: one row per architecture, its seeds' mean ± sd, interval, p and verdict."""
    from rich.table import Table

    from nasgen.units import format_count

    table = Table(
        title=f"confirmation: {verdict.seeds} seeds × {verdict.epochs} epochs; ties = not significantly below the best "
        "(one-sided Welch, 5 %)",
        title_justify="left",
    )
    for header in ("architecture", "MACs", "params", "proxy", "mean ± sd", "95 % interval", "p vs best", "verdict"):
        table.add_column(header, justify="left" if header in ("architecture", "verdict") else "right")
    alone = len(verdict.candidates) == 1
    for c in verdict.candidates:
        s = c.summary
        mark = "recommended" if c.recommended else ("best mean" if c is verdict.best else "")
        tie = "only candidate" if alone else ("tie" if c.tied else "worse")
        table.add_row(
            c.label,
            format_count(c.macs),
            format_count(c.record.params or 0),
            "—" if c.record.val_top1 is None else f"{100 * c.record.val_top1:.2f}%",
            c.shown(),
            f"[{100 * s.ci_low:.2f}, {100 * s.ci_high:.2f}]",
            "—" if alone else f"{c.p_vs_best:.3f}",
            ", ".join(x for x in (tie, mark) if x),
        )
    return table
