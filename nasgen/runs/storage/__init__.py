"""Study storages: SQLite for one process, a journal file for many on one machine, PostgreSQL for many machines.

``open_storage(url, shared=...)`` is the one opener; the storages it returns write a trial's parameters and
attributes in batches (``_base.py``'s protocol) and, when shared, keep Optuna's heartbeat protocol so a dead
worker's trial is failed with a reason and retried once.
"""

from nasgen.runs.storage._base import DeferredParams
from nasgen.runs.storage._journal import BatchJournalStorage, HeartbeatJournalStorage
from nasgen.runs.storage._heartbeat import Heartbeat, retry_stale_trial
from nasgen.runs.storage._open import display_url, journal_path, open_storage, storage_kind
from nasgen.runs.storage._rdb import BatchRDBStorage, ReasonRDBStorage

__all__ = [
    "BatchJournalStorage",
    "BatchRDBStorage",
    "DeferredParams",
    "Heartbeat",
    "HeartbeatJournalStorage",
    "ReasonRDBStorage",
    "display_url",
    "journal_path",
    "open_storage",
    "retry_stale_trial",
    "storage_kind",
]
