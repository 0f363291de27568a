"""The run: a study's trials and the directory that holds them — its one home.

A search writes a run; export, report, confirmation and the CLI read it. Here live the run directory's files
(:class:`RunDir`, every name once), the typed record of a trial (:class:`TrialRecord`) with its only writers
(the ``record_*`` functions the objective calls), the reader (:func:`open_run` → :class:`Run`), the outputs
(``best.yaml``, ``leaderboard.csv``, the summary, ties within the noise), what a report reads beyond the records
(importances, the scaled family, the stored confirmation) and the storages (:mod:`nasgen.runs.storage`).

Layered between ``train`` and ``search`` (Optuna allowed here): ``report`` and ``exporting`` read runs through this
package and never import ``nasgen.search``.

Example:
    >>> from nasgen.runs import open_run
    >>> run = open_run("runs/efficientnet-v1-400M")  # doctest: +SKIP
    >>> run.best().display, run.state_counts()  # doctest: +SKIP
"""

from nasgen.runs._baseline import Baseline, baseline_key, best_so_far, read_baseline, write_baseline
from nasgen.runs._confirmed import (
    ARMS,
    CONFIRM_FIELDS,
    ConfirmRow,
    confirmation_of,
    is_result_key,
    read_confirm_csv,
    store_result,
    stored_result,
)
from nasgen.runs._dir import WEIGHT_FILES, RunDir, RunLock
from nasgen.runs._insight import (
    MIN_IMPORTANCE_TRIALS,
    FamilyMember,
    Importances,
    param_importances,
    scaled_family,
    trial_params,
    trial_times,
)
from nasgen.runs._outputs import (
    CHANCE_MARGIN,
    DOCUMENTED_B0_SD,
    LEADERBOARD_FIELDS,
    TIE_Z,
    LeaderboardRow,
    best_record,
    best_yaml_text,
    leaderboard,
    near_chance,
    near_chance_warning,
    summary_table,
    summary_title,
    tie_note,
    write_family,
    write_outputs,
)
from nasgen.runs._reader import Run, open_run
from nasgen.runs._record import STATES, TrialRecord, rank_key
from nasgen.runs._writes import (
    enqueue_attrs,
    enqueued_labels,
    mark_failed_with_reason,
    needs_retry,
    params_batch,
    record_claim,
    record_duplicate,
    record_error,
    record_estimate,
    record_evaluation,
    record_feasible,
    record_hardware,
    record_infeasible,
    record_interrupted,
    record_partial,
    record_pruned_at,
    record_reward,
    record_spec,
    record_stopped,
    record_worker,
    retried_numbers,
    retry_allowed,
    retry_attrs,
    reusable,
    running_twin,
    worker_of,
)

__all__ = [
    "ARMS",
    "CHANCE_MARGIN",
    "CONFIRM_FIELDS",
    "DOCUMENTED_B0_SD",
    "LEADERBOARD_FIELDS",
    "MIN_IMPORTANCE_TRIALS",
    "STATES",
    "TIE_Z",
    "WEIGHT_FILES",
    "Baseline",
    "ConfirmRow",
    "FamilyMember",
    "Importances",
    "LeaderboardRow",
    "Run",
    "RunDir",
    "RunLock",
    "TrialRecord",
    "baseline_key",
    "best_record",
    "best_so_far",
    "best_yaml_text",
    "confirmation_of",
    "enqueue_attrs",
    "enqueued_labels",
    "is_result_key",
    "leaderboard",
    "mark_failed_with_reason",
    "near_chance",
    "near_chance_warning",
    "needs_retry",
    "open_run",
    "param_importances",
    "params_batch",
    "rank_key",
    "read_baseline",
    "read_confirm_csv",
    "record_claim",
    "record_duplicate",
    "record_error",
    "record_estimate",
    "record_evaluation",
    "record_feasible",
    "record_hardware",
    "record_infeasible",
    "record_interrupted",
    "record_partial",
    "record_pruned_at",
    "record_reward",
    "record_spec",
    "record_stopped",
    "record_worker",
    "retried_numbers",
    "retry_allowed",
    "retry_attrs",
    "reusable",
    "running_twin",
    "scaled_family",
    "store_result",
    "stored_result",
    "summary_table",
    "summary_title",
    "tie_note",
    "trial_params",
    "trial_times",
    "worker_of",
    "write_baseline",
    "write_family",
    "write_outputs",
]
