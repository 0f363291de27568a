"""The search on a GPU machine: one process trains on the GPU with the GPU recipe; ``--workers`` / ``--devices``
put every worker on a GPU, and two workers share one GPU in one study.

CPU side: tests/train/test_device.py (the recipe a CUDA device gets), tests/cli/test_search_workers.py
(``plan_devices`` for any GPU count, each worker's environment, two CPU workers end to end).
"""

from __future__ import annotations

import torch
from cuda_only import GPU_ONLY
from typer.testing import CliRunner

from nasgen.cli import app
from nasgen.search.workers import check_scale_out, plan_devices

pytestmark = GPU_ONLY


def test_a_search_trains_on_the_gpu_with_the_gpu_recipe(tmp_path):
    from nasgen.search import open_run

    out = tmp_path / "run"
    result = CliRunner().invoke(app, [
        "search", "--budget", "400M", "--enqueue", "efficientnet-b0", "--n-trials", "1", "--epochs", "1",
        "--images-per-epoch", "1024", "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    (record,) = open_run(out).records()
    assert record.state == "complete" and record.device == "cuda"
    assert record.proxy_px == 64 and record.epochs == 1  # GPU_PROXY: 64 px for a 224-px architecture
    assert 0 <= record.val_top1 <= 1 and record.train_seconds > 0  # 4 steps: learning is test_gpu_trainer's


def test_the_default_plan_puts_every_worker_on_a_gpu():
    count = torch.cuda.device_count()
    assert plan_devices(3, None) == [str(i % count) for i in range(3)]
    devices, threads = check_scale_out(2, "0,0", None, None, [])
    assert devices == ["0", "0"] and threads >= 1
    assert plan_devices(2, "cpu") == ["cpu", "cpu"]


def test_two_workers_share_one_gpu(tmp_path):
    from nasgen.search import open_run

    out = tmp_path / "run"
    result = CliRunner().invoke(app, [
        "search", "--budget", "400M", "--workers", "2", "--devices", "0,0", "--threads-per-worker", "2",
        "--n-trials", "6", "--epochs", "2", "--images-per-epoch", "4096", "--proxy-resolution", "32",
        "--timeout", "300", "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "workers: 2 on 0, 2 thread(s) each" in result.output
    run = open_run(out)
    records = [r for r in run.records() if r.state == "complete"]
    assert len(records) >= 1 and {r.device for r in records} == {"cuda"}  # each worker's only GPU is its cuda
    assert all(r.epochs == 2 and 0 <= r.val_top1 <= 1 for r in records)
    # both workers ran trials (6 trials of 2 epochs outlast a worker's CUDA start-up)
    assert len({t.user_attrs["pid"] for t in run.study.trials}) == 2
    assert (out / "best.yaml").is_file() and (out / "leaderboard.csv").is_file()
