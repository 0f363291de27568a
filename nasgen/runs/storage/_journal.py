"""Optuna's JournalStorage writing in batches, and with the heartbeat protocol of its RDB storage."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import optuna
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.trial import FrozenTrial, TrialState

from nasgen.runs._writes import mark_failed_with_reason
from nasgen.runs.storage._base import DeferredParams
from nasgen.runs.storage._heartbeat import Heartbeat, retry_stale_trial

__all__ = ["BatchJournalStorage", "HeartbeatJournalStorage"]

_BEAT = "nasgen:heartbeat"  # trial system attribute: wall time (s since the epoch) of the last beat


class BatchJournalStorage(DeferredParams, optuna.storages.JournalStorage):
    """Optuna's JournalStorage writing a trial's parameters and attributes in batches: one log entry per
    parameter and per attribute, as Optuna writes them (so any reader replays them), appended together under
    one lock and one ``fsync``."""

    def set_trial_param(self, trial_id: int, param_name: str, param_value_internal: float, distribution: Any) -> None:
        """Optuna's ``set_trial_param``, held back inside :meth:`defer_params`."""
        if not self._hold(trial_id, param_name, param_value_internal, distribution, None):
            super().set_trial_param(trial_id, param_name, param_value_internal, distribution)

    def _write_batch(self, trial_id: int, params: list[tuple[str, float, Any, Any]], attrs: dict[str, Any]) -> None:
        from optuna.distributions import distribution_to_json
        from optuna.storages.journal._storage import JournalOperation

        worker_id = self._replay_result.worker_id
        logs = [
            {"op_code": JournalOperation.SET_TRIAL_PARAM, "worker_id": worker_id, "trial_id": trial_id,
             "param_name": name, "param_value_internal": value, "distribution": distribution_to_json(distribution)}
            for name, value, distribution, _ in params
        ]
        logs += [
            {"op_code": JournalOperation.SET_TRIAL_USER_ATTR, "worker_id": worker_id, "trial_id": trial_id,
             "user_attr": {key: value}}
            for key, value in attrs.items()
        ]
        if not logs:
            return
        with self._thread_lock:
            self._backend.append_logs(logs)
            self._sync_with_backend()


class HeartbeatJournalStorage(BatchJournalStorage, BaseHeartbeat):
    """Optuna's JournalStorage with the heartbeat protocol of its RDB storage, kept by nasgen.

    A running trial's worker writes the wall time into the trial's system attribute ``nasgen:heartbeat`` every
    ``interval_s`` (Optuna's heartbeat thread calls :meth:`record_heartbeat`); a RUNNING trial whose last beat
    (or start, before the first beat) is older than ``grace_s`` is stale. Wall clocks of the machines sharing
    the file must agree to well under ``grace_s``.

    Args:
        backend: The journal backend (``JournalFileBackend``).
        heartbeat: Interval and grace.
    """

    def __init__(self, backend: Any, heartbeat: Heartbeat) -> None:
        super().__init__(backend)
        self._heartbeat = heartbeat

    def record_heartbeat(self, trial_id: int) -> None:
        """Record a beat of the running trial ``trial_id`` (ignored once the trial has finished)."""
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):  # the trial finished meanwhile
            self.set_trial_system_attr(trial_id, _BEAT, time.time())

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        now = time.time()
        stale = []
        for trial in self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
            start = trial.datetime_start.timestamp() if trial.datetime_start is not None else now
            last = float(trial.system_attrs.get(_BEAT, start))
            if now - last > self._heartbeat.grace_s:
                stale.append(trial._trial_id)
        return [i for i in stale if mark_failed_with_reason(self, i, self._heartbeat.reason, fail=False)]

    def get_heartbeat_interval(self) -> int | None:
        """Seconds between beats."""
        return self._heartbeat.interval_s

    def get_heartbeat_stale_trial_callback(self) -> Callable[[optuna.Study, FrozenTrial], None] | None:
        """:func:`retry_stale_trial`."""
        return retry_stale_trial


