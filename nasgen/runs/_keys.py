"""The run record's on-disk format: the Optuna user-attribute keys of a trial, private to ``nasgen.runs``.

``_record.py`` reads them into a :class:`~nasgen.runs.TrialRecord`; ``_writes.py`` is the only writer. Nothing
outside this package names a key: the study's format can change here without a search, report or export
noticing.
"""

SPEC, HASH, DISPLAY = "spec_yaml", "hash", "display"
PARAMS, MACS, MEMORY, SEED = "params", "macs", "activation_bytes", "seed"
FEASIBLE, INFEASIBLE = "feasible", "infeasible"
SCORE, EPOCHS, SECONDS, DEVICE = "val_top1", "epochs", "train_seconds", "device"
PROXY_PX, PARTIAL, STOPPED, ERROR = "proxy_px", "partial", "stopped", "error"
REUSED, ENQUEUED, RETRY, INTERRUPTED = "reused_from", "enqueued", "retry_of", "interrupted"
HOST, PID, DUPLICATE, CLAIMED = "host", "pid", "duplicate_of", "claimed"
LATENCY, STEP, REWARD, REWARD_PARTS = "latency_ms", "step_ms", "reward", "reward_parts"
EVALUATOR = "evaluator"
PRUNED_AT, ESTIMATED = "pruned_at_epoch", "estimated_seconds"
