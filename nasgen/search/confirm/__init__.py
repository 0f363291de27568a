"""Confirmation and verdict: the top of a search and its baselines retrained from scratch with seeds, then the
cheapest architecture not significantly worse than the best (one-sided Welch t-test at 5 %)."""

from nasgen.search.confirm._confirm import CONFIRM_FIELDS, Candidate, Confirmation, check_counts, confirm
from nasgen.search.confirm._verdict import (
    ALPHA,
    Summary,
    recommend,
    student_t_ppf,
    student_t_sf,
    summarize,
    summarize_accuracy,
    welch_one_sided,
)

__all__ = [
    "ALPHA",
    "CONFIRM_FIELDS",
    "Candidate",
    "Confirmation",
    "Summary",
    "check_counts",
    "confirm",
    "recommend",
    "student_t_ppf",
    "student_t_sf",
    "summarize",
    "summarize_accuracy",
    "welch_one_sided",
]
