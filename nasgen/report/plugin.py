"""The report as a built-in plugin: ``report.html`` written when a search or a confirmation completes.

Registered by entry point (``report = "nasgen.report.plugin"``, group ``nasgen``) like any plugin, so a search
calls the report through the hook ``nasgen_run_complete`` and never imports it: the report reads runs, the
search writes them, and neither calls back into the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nasgen.hooks import hookimpl

__all__ = ["nasgen_run_complete"]


@hookimpl
def nasgen_run_complete(run: Any, out: Path | None, console: Any) -> None:
    """Write the run's report; a failure is one warning line (:func:`~nasgen.report.report_quietly`)."""
    from nasgen.report import report_quietly

    report_quietly(run, out, console=console)
