"""optuna-dashboard (the ``dashboard`` extra) opens a run's study.db: started on 127.0.0.1 on a free port, the
study is fetched through its HTTP API, then the server is stopped."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from nasgen.search import open_run

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("optuna_dashboard") is None,
    reason="optuna-dashboard is not installed (pip install 'nasgen[dashboard]')",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 -- a local server this test started
        assert response.status == 200
        return json.loads(response.read().decode("utf-8"))


def test_dashboard_serves_the_run_study(run_dir):
    port = _free_port()
    code = "import sys; from optuna_dashboard._cli import main; sys.argv[0] = 'optuna-dashboard'; main()"
    server = subprocess.Popen(
        [sys.executable, "-c", code, f"sqlite:///{run_dir / 'study.db'}", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        studies, deadline = None, time.monotonic() + 60
        while studies is None and time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"optuna-dashboard exited: {server.stdout.read()[-2000:]}")
            try:
                studies = _get(f"http://127.0.0.1:{port}/api/studies")
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        assert studies is not None, "optuna-dashboard did not answer within 60 s"
        run = open_run(run_dir)
        [summary] = [s for s in studies["study_summaries"] if s["study_name"] == run.name]
        detail = _get(f"http://127.0.0.1:{port}/api/studies/{summary['study_id']}")
        assert len(detail["trials"]) == len(run.records())
        best = run.best()
        numbers = {t["number"]: t for t in detail["trials"]}
        assert any(a["key"] == "val_top1" and float(a["value"]) == best.val_top1
                   for a in numbers[best.number]["user_attrs"])
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode is not None
