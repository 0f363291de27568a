"""``nasgen search`` scale-out options on bad input: one ``error:`` line, exit 2, nothing computed lost."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from nasgen.cli import app
from nasgen.errors import SearchError
from nasgen.search.workers import plan_devices, worker_threads

runner = CliRunner()


def _error_line(*args: str) -> str:
    result = runner.invoke(app, ["search", "--budget", "400M", *args])
    output = result.output
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    return " ".join(output.split())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--workers", "0"], "--workers: must be a whole number ≥ 1, got 0"),
        (["--workers", "2", "--devices", "7"], "--devices: GPU 7 does not exist (this machine has no CUDA device)"),
        (["--workers", "2", "--devices", "gpu0"], "--devices: expected cpu or GPU indices separated by commas"),
        (["--workers", "2", "--threads-per-worker", "0"], "--threads-per-worker: must be a whole number ≥ 1, got 0"),
        (["--heartbeat-interval", "0"], "heartbeat interval: must be a whole number of seconds ≥ 1, got 0"),
        (["--heartbeat-interval", "30", "--heartbeat-grace", "10"],
         ("heartbeat grace: must be a whole number of seconds above the interval (30 s), got 10")),
        (["--storage", "mongodb://x/y"], "storage 'mongodb://x/y': expected sqlite:///FILE.db, postgresql://"),
        (["--storage", "postgresql+pg8000://me:secret@127.0.0.1/db"],
         ("storage 'postgresql+pg8000://me:***@127.0.0.1/db': its database driver, the Python module 'pg8000', is "
          "not installed; pip install 'pg8000'")),
    ],
)
def test_bad_scale_out_options(tmp_path, args, expected):
    text = _error_line(*args, "--out", str(tmp_path / "run"))
    assert expected in text
    assert "secret" not in text


def test_unreachable_postgresql_is_one_line_with_the_password_hidden(tmp_path):
    pytest.importorskip("psycopg", reason="psycopg (the postgresql:// driver) is not installed")
    text = _error_line("--storage", "postgresql://me:secret@127.0.0.1:1/db", "--out", str(tmp_path / "run"))
    assert "storage 'postgresql://me:***@127.0.0.1:1/db': " in text and "secret" not in text
    assert "127.0.0.1" in text and ("refused" in text or "connect" in text)


def test_sqlite_for_many_workers_is_refused_and_the_study_kept(tmp_path):
    out = tmp_path / "run"
    first = runner.invoke(app, ["search", "--budget", "400M", "--n-trials", "1", "--max-params", "1K", "--out", str(out)])
    assert first.exit_code == 2  # one trial, infeasible: the study exists with it
    before = (out / "study.db").read_bytes()
    text = _error_line("--workers", "2", "--storage", f"sqlite:///{out / 'study.db'}", "--out", str(out))
    assert "SQLite is for one process at a time; with --workers leave --storage out" in text
    assert (out / "study.db").read_bytes() == before


def test_device_plans():
    assert plan_devices(3, None, cuda_count=0) == ["cpu", "cpu", "cpu"]
    assert plan_devices(3, None, cuda_count=2) == ["0", "1", "0"]
    assert plan_devices(2, "cpu", cuda_count=2) == ["cpu", "cpu"]
    assert plan_devices(4, "0,0,1,1", cuda_count=2) == ["0", "0", "1", "1"]
    with pytest.raises(SearchError, match=r"--workers 3 is more than the 2 device\(s\) listed in --devices 0,1: .*"
                                          r"--devices 0,1,0,1\)"):
        plan_devices(3, "0,1", cuda_count=2)
    with pytest.raises(SearchError, match=r"GPU 7 does not exist \(this machine has 1 CUDA device\(s\): 0–0\)"):
        plan_devices(1, "7", cuda_count=1)
    assert worker_threads(4, None, cpu_count=16) == 4 and worker_threads(4, None, cpu_count=2) == 1
    assert worker_threads(4, 3, cpu_count=2) == 3


def test_each_worker_sees_only_its_device_and_its_threads():
    """The CPU side of ``--devices``: the environment a worker starts in (tests/gpu: two workers on one GPU)."""
    from nasgen.search.workers._launch import _env

    gpu, cpu = _env("0", 4), _env("cpu", 1)
    assert gpu["CUDA_VISIBLE_DEVICES"] == "0" and cpu["CUDA_VISIBLE_DEVICES"] == ""  # "" hides every GPU
    assert _env("1", 2)["CUDA_VISIBLE_DEVICES"] == "1"  # GPU 1 of the parent is the worker's cuda:0
    assert {gpu[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")} == {"4"}
    assert [_env(d, 1)["CUDA_VISIBLE_DEVICES"] for d in plan_devices(2, "0,0", cuda_count=1)] == ["0", "0"]


@pytest.mark.slow
def test_two_cpu_workers_train_real_proxies_and_the_parent_writes_the_outputs(tmp_path):
    import csv

    from nasgen.search import open_run

    out = tmp_path / "run"
    result = runner.invoke(app, [
        "search", "--budget", "400M", "--workers", "2", "--devices", "cpu", "--threads-per-worker", "1",
        "--n-trials", "3", "--epochs", "1", "--images-per-epoch", "256", "--proxy-resolution", "32",
        "--timeout", "400", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    assert "workers: 2 on cpu, 1 thread(s) each" in result.output
    run = open_run(out)
    records = [r for r in run.records() if r.state == "complete"]
    assert len(records) >= 3 and {r.device for r in records} == {"cpu"}
    assert all(r.epochs == 1 and r.proxy_px == 32 and 0 <= r.val_top1 <= 1 for r in records)
    assert len({t.user_attrs["pid"] for t in run.study.trials}) == 2
    rows = list(csv.DictReader((out / "leaderboard.csv").open()))
    assert len(rows) == len({r.hash for r in records}) and int(rows[0]["trial"]) == run.best().number
    assert (out / "workers" / "0.log").is_file() and (out / "workers" / "1.log").is_file()
