"""The report of a search: figures and one self-contained ``report.html``, from the run record.

Reads a run only through ``nasgen.runs``' public reader (``open_run`` → ``Run``, ``TrialRecord``, the
leaderboard and importances); draws with matplotlib's Agg backend (see ``_figures``). It never imports
``nasgen.search``: a search reaches it through the plugin hook ``nasgen_run_complete`` (``plugin.py``).

Example:
    >>> from nasgen.report import write_report
    >>> write_report("runs/efficientnet-v1-400M").html  # doctest: +SKIP
    PosixPath('runs/efficientnet-v1-400M/report.html')
"""

from nasgen.report._api import FIGURES, ReportResult, report_quietly, write_report

__all__ = ["FIGURES", "ReportResult", "report_quietly", "write_report"]
