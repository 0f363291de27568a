"""``write_report``: a run → ``report.html`` plus its figures as PNG files beside it."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from nasgen.errors import ReportError
from nasgen.report._data import FIGURES
from nasgen.runs import Run, RunDir, open_run

__all__ = ["FIGURES", "ReportResult", "report_quietly", "write_report"]


@dataclass
class ReportResult:
    """What :func:`write_report` wrote.

    Attributes:
        html: ``report.html``.
        figures: ``{stem: path}`` of the PNG files written beside it.
        seconds: Wall time of reading the run, drawing and writing (s).
        notes: Why a figure was left out (``{stem: reason}``).
    """

    html: Path
    figures: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0
    notes: dict[str, str] = field(default_factory=dict)


def write_report(
    source: Run | str | Path, out: str | Path | None = None, *, study_name: str | None = None
) -> ReportResult:
    """Write the report of a search run: ``report.html`` (self-contained: figures inline as base64 PNG, inline CSS,
    no script, nothing fetched) and ``accuracy_vs_macs.png``, ``history.png``, ``importances.png`` (when estimated)
    and ``stage_choices.png`` beside it.

    Works on a finished study, a study still running (a snapshot) and a multi-objective (NSGA-II) study.

    Args:
        source: A :class:`~nasgen.runs.Run`, a run directory or a storage URL.
        out: The report folder (default: the run directory).
        study_name: The study, for a storage holding several.

    Returns:
        The :class:`ReportResult`.

    Raises:
        SearchError: ``source`` is not a run directory or readable storage, or names no such study.
        ReportError: The study holds no trial; no folder to write to (a storage URL without ``out``); the folder
            cannot be created or written.
    """
    start = time.perf_counter()
    run = source if isinstance(source, Run) else open_run(source, study_name=study_name)
    folder = Path(out) if out is not None else run.out
    if folder is None:
        raise ReportError(f"report: run {run.location!r} was opened from a storage URL; pass -o DIR for the report")
    _check_writable(folder)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from nasgen.report._data import gather
    from nasgen.report._figures import accuracy_vs_macs, history, importances, stage_choices
    from nasgen.report._html import render

    data = gather(run, folder)
    draw = {"accuracy_vs_macs": accuracy_vs_macs, "history": history, "importances": importances,
            "stage_choices": stage_choices}
    result = ReportResult(html=RunDir(folder).report_html)
    pngs: dict[str, tuple[str, bytes]] = {}
    for stem, caption in FIGURES:
        why = _not_enough(stem, data)
        figure = None if why else draw[stem](data)
        if figure is None:
            result.notes[stem] = why or (data.importances.note if stem == "importances" else "no per-stage dimension")
            _remove_stale(folder / f"{stem}.png")
            continue
        FigureCanvasAgg(figure)  # Agg explicitly, whatever matplotlib's default backend is (see _figures)
        buffer = BytesIO()
        figure.savefig(buffer, format="png")
        pngs[stem] = (caption, buffer.getvalue())
        result.figures[stem] = _write(folder / f"{stem}.png", buffer.getvalue())
    result.seconds = time.perf_counter() - start
    _write(result.html, render(data, pngs, result.seconds, left_out=result.notes).encode("utf-8"))
    return result


def _not_enough(stem: str, data: Any) -> str:
    """Why a figure would draw noise rather than evidence (empty: draw it). The per-stage choices compare the top
    10 % with every trial: from a handful of trials each panel is a 100 % bar of one trial's choices."""
    from nasgen.runs import MIN_IMPORTANCE_TRIALS

    scored = len(data.scored)
    if stem == "stage_choices" and scored < MIN_IMPORTANCE_TRIALS:
        return (f"too few scored trials to compare the top 10 % with every trial ({scored}; needs at least "
                f"{MIN_IMPORTANCE_TRIALS})")
    return ""


def _check_writable(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise ReportError(f"report: cannot write into {str(folder)!r}: it is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"report: cannot create the folder {str(folder)!r}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ReportError(f"report: cannot write into {str(folder)!r}: no write permission")


def _write(path: Path, content: bytes) -> Path:
    """Write ``content`` atomically (a reader never sees half a file, e.g. a browser open on the report)."""
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
            handle.write(content)
        os.chmod(handle.name, 0o644)  # a temporary file is 0600; the report is meant to be shared
        os.replace(handle.name, path)
    except OSError as exc:
        raise ReportError(f"report: cannot write {str(path)!r}: {exc.strerror or exc}") from None
    return path


def _remove_stale(path: Path) -> None:
    if path.is_file():
        path.unlink()


def report_quietly(run: Run, out: str | Path | None = None, console: Any = None) -> Path | None:
    """Write the report at the end of a search or confirmation (what the report plugin's ``nasgen_run_complete``
    does); any failure is one warning line, never an error, so that the results it reports on are never lost to it.

    Returns:
        ``report.html``, or None when it could not be written.
    """
    try:
        result = write_report(run, out)
    except Exception as exc:  # noqa: BLE001 -- by design: a figure must not cost a search its outputs
        message = f"warning: report not written: {type(exc).__name__}: {exc}"
        if console is not None:
            console.print(message, highlight=False, markup=False, soft_wrap=True)
        else:
            print(message, file=sys.stderr)
        return None
    if console is not None:
        console.print(f"report: {result.html}", highlight=False, markup=False, soft_wrap=True)
    return result.html
