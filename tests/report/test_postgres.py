"""The report of a study in PostgreSQL (the shared storage of many workers), read by URL: a throwaway server in a
temporary folder, started and stopped by the test."""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from nasgen.report import FIGURES, write_report
from nasgen.search import open_run

BIN = Path("/usr/lib/postgresql")
INITDB = shutil.which("initdb") or next(iter(sorted(BIN.glob("*/bin/initdb"), reverse=True)), None)
pytestmark = pytest.mark.skipif(
    INITDB is None or importlib.util.find_spec("psycopg2") is None,
    reason="needs a PostgreSQL server binary (initdb, pg_ctl) and psycopg2 (pip install 'nasgen[postgres]')",
)


def _as_server_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: run it as the `postgres` user when the tests run as root
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root with no `postgres` user: PostgreSQL will not start as root")
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture
def postgres_url():
    bindir = Path(INITDB).parent
    home = Path(tempfile.mkdtemp(prefix="nasgen-pg-"))  # not under pytest's 0700 tmp: the server user reads it
    data = home / "pg"
    run = {"capture_output": True, "text": True, "timeout": 120}
    ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(home / "log")]
    started = False
    try:
        data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(home, "postgres")
            shutil.chown(data, "postgres")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        done = subprocess.run(
            _as_server_user([str(bindir / "initdb"), "-D", str(data), "-U", "nasgen", "--auth=trust"]), **run
        )
        assert done.returncode == 0, done.stderr
        done = subprocess.run(_as_server_user([*ctl, "-o", f"-p {port} -k {home} -h 127.0.0.1", "start"]), **run)
        started = done.returncode == 0
        assert started, done.stderr
        yield f"postgresql://nasgen@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(_as_server_user([*ctl, "-m", "fast", "stop"]), **run)
        shutil.rmtree(home, ignore_errors=True)


def test_report_of_a_postgres_study(postgres_url, tmp_path, make_run):
    out = make_run(tmp_path / "run", 20, storage=postgres_url, study_name="shared")  # ≥ 8 distinct scored trials
    assert not (out / "study.db").exists()  # the study lives in the server
    assert (out / "report.html").is_file()  # search() wrote it from the server's study
    result = write_report(postgres_url, tmp_path / "report", study_name="shared")
    assert set(result.figures) == {stem for stem, _ in FIGURES}
    text = result.html.read_text(encoding="utf-8")
    run = open_run(postgres_url, study_name="shared")
    assert "<dt>storage</dt><dd>postgresql://nasgen@127.0.0.1:" in text
    assert f'<div class="card"><b>{len(run.records())}</b>trials</div>' in text
