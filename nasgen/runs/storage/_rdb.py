"""Optuna's RDB storage (SQLite, PostgreSQL, …) writing a trial's parameters and attributes in batches."""

from __future__ import annotations

import functools
from typing import Any

import optuna

from nasgen.runs._writes import mark_failed_with_reason
from nasgen.runs.storage._base import DeferredParams

__all__ = ["BatchRDBStorage", "ReasonRDBStorage"]


class BatchRDBStorage(DeferredParams, optuna.storages.RDBStorage):
    """Optuna's RDB storage writing a trial's parameters and attributes in batches: one transaction of three
    statements (find the trial, insert the parameters, upsert the attributes) where Optuna spends two or three
    statements and a commit on each parameter and attribute; and reading trials in two statements."""

    def _set_trial_param(
        self, trial_id: int, param_name: str, param_value_internal: float, distribution: Any, previous: Any
    ) -> None:
        if not self._hold(trial_id, param_name, param_value_internal, distribution, previous):
            super()._set_trial_param(trial_id, param_name, param_value_internal, distribution, previous)

    def _write_batch(self, trial_id: int, params: list[tuple[str, float, Any, Any]], attrs: dict[str, Any]) -> None:
        import json

        from optuna.distributions import check_distribution_compatibility, distribution_to_json, json_to_distribution
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session

        if not params and not attrs:
            return
        statements = _write_statements(self.engine.name)
        with _create_scoped_session(self.scoped_session, True) as session:
            found = session.execute(statements["trial"], {"trial_id": trial_id}).first()
            if found is None:
                raise KeyError(models.NOT_FOUND_MSG)
            study_id, state = found
            self.check_trial_is_updatable(trial_id, state)
            if params:
                for name, _, distribution, previous in params:
                    if previous is None:  # as Optuna: the study's first distribution of this name decides
                        first = session.execute(statements["first"], {"study_id": study_id, "name": name}).first()
                        if first is not None:
                            previous = json_to_distribution(first[0])
                    if previous is not None:
                        check_distribution_compatibility(previous, distribution)
                session.execute(
                    statements["params"],
                    [
                        {"trial_id": trial_id, "param_name": name, "param_value": value,
                         "distribution_json": distribution_to_json(distribution)}
                        for name, value, distribution, _ in params
                    ],
                )
            if attrs:
                rows = [{"trial_id": trial_id, "key": k, "value_json": json.dumps(v)} for k, v in attrs.items()]
                if statements["attrs"] is not None:
                    session.execute(statements["attrs"], rows)
                else:  # another database: Optuna's one-by-one path
                    for key, value in attrs.items():
                        self._set_trial_attr_without_commit(
                            session, models.TrialUserAttributeModel, trial_id, key, value
                        )


@functools.cache
def _write_statements(dialect: str) -> dict[str, Any]:
    """The statements of :meth:`BatchRDBStorage._write_batch`, built once (building costs more client time than
    running them): the trial's study and state, a study's first distribution of a parameter name, the
    parameters' insert, and the attributes' upsert (``INSERT … ON CONFLICT (trial_id, key) DO UPDATE``; None on
    a database without one)."""
    import sqlite3

    import sqlalchemy
    from optuna.storages._rdb import models

    trials = models.TrialModel.__table__.c
    params = models.TrialParamModel.__table__
    attrs = models.TrialUserAttributeModel.__table__
    upsert = None
    if dialect == "postgresql" or dialect == "sqlite" and sqlite3.sqlite_version_info >= (3, 24, 0):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(attrs)
        upsert = statement.on_conflict_do_update(
            index_elements=[attrs.c.trial_id, attrs.c.key], set_={"value_json": statement.excluded.value_json}
        )
    return {
        "trial": sqlalchemy.select(trials.study_id, trials.state).where(
            trials.trial_id == sqlalchemy.bindparam("trial_id")
        ),
        "first": sqlalchemy.select(params.c.distribution_json)
        .join(models.TrialModel.__table__, params.c.trial_id == trials.trial_id)
        .where(trials.study_id == sqlalchemy.bindparam("study_id"))
        .where(params.c.param_name == sqlalchemy.bindparam("name"))
        .limit(1),
        "params": sqlalchemy.insert(params),
        "attrs": upsert,
    }


class ReasonRDBStorage(BatchRDBStorage):
    """Optuna's RDB storage, recording why a stale trial is failed before Optuna fails it."""

    def __init__(self, url: str, *, reason: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self._stale_reason = reason

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        ids = super()._get_stale_trial_ids(study_id)
        return [i for i in ids if mark_failed_with_reason(self, i, self._stale_reason, fail=False)]


