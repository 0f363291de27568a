"""Study storages for one process, many processes on one machine, and many machines (DESIGN.md, scale-out).

Which storage for what (Optuna's distributed-optimization tutorial gives the same split):

- ``sqlite:///path/study.db``: one process at a time (the default of a plain ``nasgen search``);
- ``journal:///abs/path/study.log`` (or a path ending ``.log``): Optuna's ``JournalStorage`` on an append-only
  file, safe for many processes on one machine (the default of ``--workers N``) or on a shared filesystem with
  working ``open(O_EXCL)`` locks;
- ``postgresql://user:password@host/db``: Optuna's RDB storage on PostgreSQL, for many machines. SQLAlchemy 2.1
  maps the plain ``postgresql://`` scheme to psycopg 3 (the ``postgres`` extra installs ``psycopg[binary]``);
  ``postgresql+psycopg2://`` uses psycopg2.

Schema creation is safe however many processes start at once: on PostgreSQL the first ``RDBStorage`` is built
under a session advisory lock (concurrent ``CREATE TABLE`` otherwise races on ``pg_type`` and all but one
process die with ``UniqueViolation``); other databases retry the creation a few times.

Stale trials: RDB storages use Optuna's heartbeats; the journal storage gets the same protocol from
:class:`HeartbeatJournalStorage` (a beat is a trial system attribute with the wall time). Either way a stale
trial gets its reason recorded *before* it is failed (a finished trial's attributes are read-only), and is
retried once (:func:`retry_stale_trial`).
"""

from __future__ import annotations

import abc
import contextlib
import functools
import random
import re
import socket
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.trial import FrozenTrial, TrialState

from nasgen.errors import SearchError
from nasgen.search._record import mark_failed_with_reason, retry_allowed, retry_attrs

__all__ = [
    "Heartbeat",
    "HeartbeatJournalStorage",
    "display_url",
    "open_storage",
    "retry_stale_trial",
    "storage_kind",
]

# Advisory-lock key of nasgen's schema creation (any constant 64-bit integer; "nasgen" in ASCII).
_SCHEMA_LOCK_KEY = 0x6E617367656E
_BEAT = "nasgen:heartbeat"  # trial system attribute: wall time (s since the epoch) of the last beat
_DRIVER_PACKAGES = {
    "psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "pymysql": "PyMySQL", "MySQLdb": "mysqlclient",
}


@dataclass(frozen=True)
class Heartbeat:
    """How often a running trial beats, and how long without a beat makes it stale.

    Attributes:
        interval_s: Seconds between beats (≥ 1).
        grace_s: Seconds without a beat after which another worker fails the trial (> ``interval_s``).

    Raises:
        SearchError: ``interval_s`` < 1 or ``grace_s`` ≤ ``interval_s``.
    """

    interval_s: int = 30
    grace_s: int = 120

    def __post_init__(self) -> None:
        if isinstance(self.interval_s, bool) or not isinstance(self.interval_s, int) or self.interval_s < 1:
            raise SearchError(f"heartbeat interval: must be a whole number of seconds ≥ 1, got {self.interval_s!r}")
        if isinstance(self.grace_s, bool) or not isinstance(self.grace_s, int) or self.grace_s <= self.interval_s:
            raise SearchError(
                f"heartbeat grace: must be a whole number of seconds above the interval ({self.interval_s} s), "
                f"got {self.grace_s!r}"
            )

    @property
    def reason(self) -> str:
        """The failure reason recorded on a stale trial."""
        return (
            f"no heartbeat for more than {self.grace_s} s (worker killed, hung or cut off); failed by "
            f"{socket.gethostname()}"
        )


def display_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    return re.sub(r"^([a-z0-9+]+://[^:/@]*):[^@]*@", r"\1:***@", url)


def storage_kind(storage: str | BaseStorage) -> str:
    """``"object"``, ``"sqlite"``, ``"journal"`` or ``"rdb"`` (another SQLAlchemy URL).

    Raises:
        SearchError: Not a storage URL nasgen knows (names the accepted forms).
    """
    if isinstance(storage, BaseStorage):
        return "object"
    if not isinstance(storage, str) or not storage.strip():
        raise SearchError(f"storage: expected a URL, got {storage!r}")
    if storage.startswith("sqlite:"):
        return "sqlite"
    if storage.startswith("journal:") or storage.endswith((".log", ".journal")) and "://" not in storage:
        return "journal"
    if re.match(r"^(postgresql|postgres|mysql|mariadb|oracle|mssql)(\+[a-z0-9_]+)?://", storage):
        return "rdb"
    raise SearchError(
        f"storage {display_url(storage)!r}: expected sqlite:///FILE.db, postgresql://USER:PASSWORD@HOST/DB, "
        "mysql://… or journal:///FILE.log (a JournalStorage file)"
    )


def journal_path(url: str) -> Path:
    """The file of a journal URL: ``journal:///abs/path.log``, ``journal:rel/path.log`` or a bare ``*.log`` path."""
    if url.startswith("journal://"):
        return Path(url[len("journal://") :])
    if url.startswith("journal:"):
        return Path(url[len("journal:") :])
    return Path(url)


def open_storage(
    storage: str | BaseStorage, *, shared: bool, heartbeat: Heartbeat | None = None
) -> BaseStorage:
    """The Optuna storage behind ``storage`` (a storage object passes through).

    Args:
        storage: A URL (see the module docstring) or an Optuna storage.
        shared: Other processes may run trials of the same study: heartbeats on (RDB and journal).
        heartbeat: Interval and grace of the heartbeats (default 30 s / 120 s).

    Raises:
        SearchError: Unknown scheme, missing database driver (names the module and the pip package),
            unreachable server, or a journal file that cannot be created.
    """
    kind = storage_kind(storage)
    if kind == "object":
        return storage  # type: ignore[return-value]
    beat = (heartbeat or Heartbeat()) if shared else None
    if kind == "journal":
        return _journal(journal_path(storage), beat)
    _check_driver(storage)
    backend = _rdb(storage, beat)
    if kind == "sqlite":
        _sqlite_wal(backend)
    return backend


def _journal(path: Path, beat: Heartbeat | None) -> BaseStorage:
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            backend = JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path)))
    except OSError as exc:
        raise SearchError(f"storage journal file {str(path)!r}: {exc.strerror or exc}") from None
    if beat is None:
        return BatchJournalStorage(backend)
    return HeartbeatJournalStorage(backend, beat)


def _check_driver(url: str) -> None:
    import sqlalchemy

    try:
        dialect = sqlalchemy.engine.make_url(url).get_dialect()
        dialect.import_dbapi()
    except ImportError as exc:
        module = getattr(exc, "name", None) or str(exc).split("'")[1 if "'" in str(exc) else 0]
        package = _DRIVER_PACKAGES.get(module.split(".")[0], module)
        hint = ' (pip install "nasgen[postgres]")' if package == "psycopg[binary]" else ""
        raise SearchError(
            f"storage {display_url(url)!r}: its database driver, the Python module {module!r}, is not installed; "
            f"pip install {package!r}{hint}"
        ) from None
    except Exception as exc:  # SQLAlchemy's ArgumentError / NoSuchModuleError: a malformed URL
        raise SearchError(f"storage {display_url(url)!r}: {str(exc).splitlines()[0]}") from None


def _rdb(url: str, beat: Heartbeat | None) -> optuna.storages.RDBStorage:
    kwargs: dict[str, Any] = {}
    if url.startswith(("postgresql", "postgres")):
        kwargs["engine_kwargs"] = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    if beat is not None:
        kwargs.update(heartbeat_interval=beat.interval_s, grace_period=beat.grace_s)
    try:
        if url.startswith(("postgresql", "postgres")):
            return _under_advisory_lock(url, lambda: _build_rdb(url, beat, kwargs))
        return _with_retries(lambda: _build_rdb(url, beat, kwargs))
    except (ValueError, ImportError, optuna.exceptions.OptunaError) as exc:
        raise SearchError(f"storage {display_url(url)!r}: {exc}") from None
    except Exception as exc:  # SQLAlchemy's OperationalError & co: server unreachable, bad password
        if type(exc).__module__.startswith("sqlalchemy"):
            raise SearchError(f"storage {display_url(url)!r}: {_first_line(exc)}") from None
        raise


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _build_rdb(url: str, beat: Heartbeat | None, kwargs: dict[str, Any]) -> optuna.storages.RDBStorage:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if beat is None:
            return _BatchRDBStorage(url, **kwargs)
        return _ReasonRDBStorage(url, reason=beat.reason, heartbeat_stale_trial_callback=retry_stale_trial, **kwargs)


def _under_advisory_lock(url: str, build: Callable[[], Any]) -> Any:
    """Build the storage while holding PostgreSQL's session advisory lock ``_SCHEMA_LOCK_KEY``."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    engine = sqlalchemy.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            try:
                return build()
            finally:
                connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": _SCHEMA_LOCK_KEY})
    finally:
        engine.dispose()


def _with_retries(build: Callable[[], Any], attempts: int = 5) -> Any:
    """Build, retrying after a jittered pause when another process created the schema at the same moment."""
    import sqlalchemy.exc

    for attempt in range(attempts):
        try:
            return build()
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError, sqlalchemy.exc.ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.1 + random.random() * 0.4 * (attempt + 1))
    raise AssertionError("unreachable")


def _sqlite_wal(backend: optuna.storages.RDBStorage) -> None:
    # A trial writes ~15 attributes, each its own commit; SQLite's default rollback journal fsyncs every
    # commit (~30 ms on a busy disk). Write-ahead logging with synchronous=NORMAL cannot corrupt the file
    # and keeps it readable by optuna-dashboard and by other processes meanwhile.
    import sqlalchemy

    def on_connect(connection: Any, record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    sqlalchemy.event.listen(backend.engine, "connect", on_connect)
    backend.engine.dispose()  # pooled connections opened before the listener are closed


class _DeferredParams:
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


class _BatchRDBStorage(_DeferredParams, optuna.storages.RDBStorage):
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
    """The statements of :meth:`_BatchRDBStorage._write_batch`, built once (building costs more client time than
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


class _ReasonRDBStorage(_BatchRDBStorage):
    """Optuna's RDB storage, recording why a stale trial is failed before Optuna fails it."""

    def __init__(self, url: str, *, reason: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self._stale_reason = reason

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        ids = super()._get_stale_trial_ids(study_id)
        return [i for i in ids if mark_failed_with_reason(self, i, self._stale_reason, fail=False)]


class BatchJournalStorage(_DeferredParams, optuna.storages.JournalStorage):
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


def retry_stale_trial(study: optuna.Study, trial: FrozenTrial) -> None:
    """Heartbeat callback: enqueue a failed stale trial's parameters again, once (never a retry's retry).

    A trial that fails deterministically (out of memory, NaN) raises inside the objective and is recorded
    ``failed``, not stale, so it is not retried at all.
    """
    trials = study.get_trials(deepcopy=False)
    if retry_allowed(trial, trials):
        study.enqueue_trial(trial.params, user_attrs=retry_attrs(trial))
