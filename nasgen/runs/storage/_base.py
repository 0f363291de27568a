"""The batching protocol of nasgen's storages: a trial's parameters written with its next attribute batch.

Both of nasgen's storages (``_rdb.py``, ``_journal.py``) derive from :class:`DeferredParams` and implement one
method, :meth:`DeferredParams._write_batch`, in their own transaction or journal append.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["DeferredParams"]


class DeferredParams(abc.ABC):
    """Parameter writes of a trial held back and written with its next attribute batch.

    Optuna writes each ``suggest_*`` result with its own ``set_trial_param``: on PostgreSQL a lookup, an insert and
    a commit each (≈ 3.5 ms), in a journal a locked append and an ``fsync`` each. Inside :meth:`defer_params` the
    storage collects them instead; :meth:`set_trial_user_attrs` (or the end of the block) writes them in one
    transaction or append, together with the attributes. Only the process that runs the trial writes its
    parameters, and it reads them from its own ``Trial`` meanwhile; other workers see them a few milliseconds
    later, as if the sampling had taken that much longer.
    """

    def _pending(self) -> dict[int, list[tuple[str, float, Any, Any]]]:
        return self.__dict__.setdefault("_nasgen_pending", {})  # atomic: threads of one process share it

    @contextlib.contextmanager
    def defer_params(self, trial_id: int) -> Iterator[None]:
        """Collect ``trial_id``'s parameter writes in this block; write what is left of them at its end.

        Raises:
            UpdateFinishedTrialError, ValueError: As ``set_trial_param`` (incompatible distribution), when the
                parameters are written.
        """
        pending = self._pending()
        pending[trial_id] = []
        try:
            yield
        except BaseException:  # the trial failed while sampling: keep what it sampled, keep its error
            left = pending.pop(trial_id, [])
            if left:
                with contextlib.suppress(Exception):
                    self._write_batch(trial_id, left, {})
            raise
        left = pending.pop(trial_id, [])
        if left:
            self._write_batch(trial_id, left, {})

    def _hold(self, trial_id: int, name: str, value: float, distribution: Any, previous: Any) -> bool:
        held = self._pending().get(trial_id)
        if held is None:
            return False
        held.append((name, value, distribution, previous))
        return True

    def set_trial_user_attrs(self, trial_id: int, attrs: dict[str, Any]) -> None:
        """Set every ``key: value`` of ``attrs`` on the running trial ``trial_id`` in one write, with the
        trial's held-back parameters (:meth:`defer_params`).

        Raises:
            UpdateFinishedTrialError: The trial has finished.
        """
        held = self._pending().get(trial_id)
        params = list(held) if held else []
        if held:
            held.clear()
        self._write_batch(trial_id, params, attrs)

    @abc.abstractmethod
    def _write_batch(self, trial_id: int, params: list[tuple[str, float, Any, Any]], attrs: dict[str, Any]) -> None:
        """Write ``params`` (name, internal value, distribution, the study's distribution or None) and ``attrs`` of
        ``trial_id`` in one transaction or append (each storage's own)."""


