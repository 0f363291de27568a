"""Opening a study storage for one process, many processes on one machine, or many machines (scale-out).

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

import random
import re
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage

from nasgen.errors import SearchError
from nasgen.runs.storage._heartbeat import Heartbeat, retry_stale_trial
from nasgen.runs.storage._journal import BatchJournalStorage, HeartbeatJournalStorage
from nasgen.runs.storage._rdb import BatchRDBStorage, ReasonRDBStorage

__all__ = ["display_url", "journal_path", "open_storage", "storage_kind"]

# Advisory-lock key of nasgen's schema creation (any constant 64-bit integer; "nasgen" in ASCII).
_SCHEMA_LOCK_KEY = 0x6E617367656E
_DRIVER_PACKAGES = {
    "psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "pymysql": "PyMySQL", "MySQLdb": "mysqlclient",
}


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
        heartbeat: Interval and grace of the heartbeats (default :class:`Heartbeat`'s, the settings' defaults).

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
            return BatchRDBStorage(url, **kwargs)
        return ReasonRDBStorage(url, reason=beat.reason, heartbeat_stale_trial_callback=retry_stale_trial, **kwargs)


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
