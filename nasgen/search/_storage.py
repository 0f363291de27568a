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
_DRIVER_PACKAGES = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "pymysql": "PyMySQL"}


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
        finally:
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

    def _write_batch(self, trial_id: int, params: list[tuple[str, float, Any, Any]], attrs: dict[str, Any]) -> None:
        raise NotImplementedError


class _BatchRDBStorage(_DeferredParams, optuna.storages.RDBStorage):
    """Optuna's RDB storage writing a trial's parameters and attributes in batches: one transaction of three
    statements (find the trial, insert the parameters, upsert the attributes) where Optuna spends three
    statements and a commit on each."""

    def _set_trial_param(
        self, trial_id: int, param_name: str, param_value_internal: float, distribution: Any, previous: Any
    ) -> None:
        if not self._hold(trial_id, param_name, param_value_internal, distribution, previous):
            super()._set_trial_param(trial_id, param_name, param_value_internal, distribution, previous)

    def _write_batch(self, trial_id: int, params: list[tuple[str, float, Any, Any]], attrs: dict[str, Any]) -> None:
        import json

        import sqlalchemy
        from optuna.distributions import check_distribution_compatibility, distribution_to_json
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session

        if not params and not attrs:
            return
        with _create_scoped_session(self.scoped_session, True) as session:
            trial = models.TrialModel.find_or_raise_by_id(trial_id, session)
            self.check_trial_is_updatable(trial_id, trial.state)
            if params:
                for name, _, distribution, previous in params:
                    if previous is None:  # as Optuna: the study's first distribution of this name decides
                        record = (
                            session.query(models.TrialParamModel.distribution_json)
                            .join(models.TrialModel)
                            .filter(models.TrialModel.study_id == trial.study_id)
                            .filter(models.TrialParamModel.param_name == name)
                            .first()
                        )
                        if record is not None:
                            from optuna.distributions import json_to_distribution

                            previous = json_to_distribution(record[0])
                    if previous is not None:
                        check_distribution_compatibility(previous, distribution)
                session.execute(
                    sqlalchemy.insert(models.TrialParamModel),
                    [
                        {"trial_id": trial_id, "param_name": name, "param_value": value,
                         "distribution_json": distribution_to_json(distribution)}
                        for name, value, distribution, _ in params
                    ],
                )
            if attrs:
                rows = [{"trial_id": trial_id, "key": k, "value_json": json.dumps(v)} for k, v in attrs.items()]
                upsert = _upsert(self.engine.name, models.TrialUserAttributeModel, rows)
                if upsert is not None:
                    session.execute(upsert)
                else:  # another database: Optuna's one-by-one path
                    for key, value in attrs.items():
                        self._set_trial_attr_without_commit(
                            session, models.TrialUserAttributeModel, trial_id, key, value
                        )


    # -- reads: two statements per read instead of Optuna's ORM (one per trial table, or per lazy load) -----------
    def get_trial(self, trial_id: int) -> FrozenTrial:
        """Optuna's ``get_trial`` in two statements (the trial's row; its parameters, values and attributes in one
        ``UNION ALL``) instead of six; the same ``FrozenTrial``.

        Raises:
            KeyError: No trial ``trial_id``.
        """
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session

        with _create_scoped_session(self.scoped_session) as session:
            trials = _read_trials(session, ("one", False, ""), {"trial_id": trial_id})
        if not trials:
            raise KeyError(models.NOT_FOUND_MSG)
        return trials[0]

    def _get_trials(
        self, study_id: int, states: Any, included_trial_ids: set[int], trial_id_greater_than: int
    ) -> list[FrozenTrial]:
        """Optuna's ``_get_trials`` (what ``get_all_trials`` and Optuna's trial cache read) in two statements.

        Raises:
            KeyError: No study ``study_id``.
        """
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session

        included = [i for i in included_trial_ids if i <= trial_id_greater_than]
        values: dict[str, Any] = {"study_id": study_id, "greater": trial_id_greater_than}
        if states is not None:
            values["states"] = list(states)
        if included and trial_id_greater_than > -1:
            values["included"] = included
            after = "greater_or_included"
        else:
            after = "greater" if trial_id_greater_than > -1 else ""
        shape = ("study", states is not None, after)
        with _create_scoped_session(self.scoped_session) as session:
            trials = _read_trials(session, shape, values)
            if not trials:  # as Optuna: an unknown study is an error, an empty one is not
                models.StudyModel.find_or_raise_by_id(study_id, session)
        return trials


@functools.cache
def _read_statements(shape: tuple[str, bool, str]) -> tuple[Any, Any]:
    """The two statements of :func:`_read_trials` for one kind of filter, built once (building them costs
    more client time than running them): the trials' rows, and their children in one ``UNION ALL``.

    ``shape``: ``("one", False, "")`` (bound ``trial_id``) or ``("study", states?, after)`` (bound ``study_id``,
    ``states`` when filtered by state, ``greater`` and ``included`` as ``after`` says: ``""``, ``"greater"`` or
    ``"greater_or_included"``).
    """
    import sqlalchemy
    from optuna.storages._rdb import models

    c = models.TrialModel.__table__.c
    if shape[0] == "one":
        where = c.trial_id == sqlalchemy.bindparam("trial_id")
    else:
        _, by_state, after = shape
        where = c.study_id == sqlalchemy.bindparam("study_id")
        if by_state:
            where = sqlalchemy.and_(where, c.state.in_(sqlalchemy.bindparam("states", expanding=True)))
        greater = c.trial_id > sqlalchemy.bindparam("greater")
        if after == "greater":
            where = sqlalchemy.and_(where, greater)
        elif after == "greater_or_included":
            where = sqlalchemy.and_(
                where, sqlalchemy.or_(c.trial_id.in_(sqlalchemy.bindparam("included", expanding=True)), greater)
            )
    rows = (
        sqlalchemy.select(c.trial_id, c.number, c.state, c.datetime_start, c.datetime_complete)
        .where(where)
        .order_by(c.trial_id)
    )
    ids = sqlalchemy.select(c.trial_id).where(where).scalar_subquery()
    null_text = sqlalchemy.cast(sqlalchemy.null(), sqlalchemy.Text)
    null_float = sqlalchemy.cast(sqlalchemy.null(), sqlalchemy.Float)
    null_int = sqlalchemy.cast(sqlalchemy.null(), sqlalchemy.Integer)

    def branch(kind: str, model: Any, row_id: Any, name: Any, number: Any, integer: Any, text: Any) -> Any:
        return sqlalchemy.select(
            sqlalchemy.literal(kind, sqlalchemy.Text).label("kind"),
            model.trial_id.label("trial_id"),
            row_id.label("row_id"),
            sqlalchemy.cast(name, sqlalchemy.Text).label("name"),
            sqlalchemy.cast(number, sqlalchemy.Float).label("number"),
            sqlalchemy.cast(integer, sqlalchemy.Integer).label("integer"),
            sqlalchemy.cast(text, sqlalchemy.Text).label("text"),
        ).where(model.trial_id.in_(ids))

    P, U, S, V, I = (models.TrialParamModel, models.TrialUserAttributeModel, models.TrialSystemAttributeModel,
                     models.TrialValueModel, models.TrialIntermediateValueModel)
    union = sqlalchemy.union_all(
        branch("p", P, P.param_id, P.param_name, P.param_value, null_int, P.distribution_json),
        branch("u", U, U.trial_user_attribute_id, U.key, null_float, null_int, U.value_json),
        branch("s", S, S.trial_system_attribute_id, S.key, null_float, null_int, S.value_json),
        branch("v", V, V.trial_value_id, null_text, V.value, V.objective, V.value_type),
        branch("i", I, I.trial_intermediate_value_id, null_text, I.intermediate_value, I.step,
               I.intermediate_value_type),
    ).subquery()
    return rows, sqlalchemy.select(union).order_by(union.c.kind, union.c.trial_id, union.c.row_id)


def _read_trials(session: Any, shape: tuple[str, bool, str], values: dict[str, Any]) -> list[FrozenTrial]:
    """The trials that ``shape`` with bound ``values`` selects (:func:`_read_statements`), ordered by id, as
    Optuna's ``RDBStorage._build_frozen_trial_from_trial_model`` builds them: datetimes stored as naive UTC read
    as naive local time, parameters in insertion order."""
    import datetime
    import json

    from optuna.distributions import json_to_distribution
    from optuna.storages._rdb import models

    rows_statement, parts_statement = _read_statements(shape)
    rows = session.execute(rows_statement, values).all()
    if not rows:
        return []
    parts = session.execute(parts_statement, values).all()
    V, I = models.TrialValueModel, models.TrialIntermediateValueModel
    children: dict[int, dict[str, list[Any]]] = {row.trial_id: {k: [] for k in "pusvi"} for row in rows}
    for part in parts:
        children[part.trial_id][part.kind].append(part)

    def local(value: datetime.datetime | None) -> datetime.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=datetime.timezone.utc).astimezone().replace(tzinfo=None)

    value_type, step_type = V.TrialValueType, I.TrialIntermediateValueType
    trials = []
    for row in rows:
        kids = children[row.trial_id]
        dists = {p.name: json_to_distribution(p.text) for p in kids["p"]}
        values: list[float] | None = None
        if kids["v"]:
            values = [0.0] * len(kids["v"])
            for v in kids["v"]:
                values[v.integer] = V.stored_repr_to_value(v.number, value_type[v.text])
        trials.append(
            FrozenTrial(
                number=row.number,
                state=row.state,
                value=None,
                values=values,
                datetime_start=local(row.datetime_start),
                datetime_complete=local(row.datetime_complete),
                params={p.name: dists[p.name].to_external_repr(p.number) for p in kids["p"]},
                distributions=dists,
                user_attrs={u.name: json.loads(u.text) for u in kids["u"]},
                system_attrs={a.name: json.loads(a.text) for a in kids["s"]},
                intermediate_values={
                    i.integer: I.stored_repr_to_intermediate_value(i.number, step_type[i.text]) for i in kids["i"]
                },
                trial_id=row.trial_id,
            )
        )
    return trials


def _upsert(dialect: str, model: Any, rows: list[dict[str, Any]]) -> Any:
    """One ``INSERT … ON CONFLICT (trial_id, key) DO UPDATE`` of all ``rows`` (None: a dialect without one)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        return None
    statement = insert(model).values(rows)
    return statement.on_conflict_do_update(
        index_elements=[model.trial_id, model.key], set_={"value_json": statement.excluded.value_json}
    )


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
