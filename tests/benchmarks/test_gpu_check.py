"""scripts/gpu_check.sh and benchmarks/gpu_figures.py: the dry run end to end on the CPU (what CI can prove of the
GPU check), the docs table it fills, and its refusals.

The GPU run itself (``scripts/gpu_check.sh`` on a CUDA machine) is described in docs/gpu.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import gpu_figures

    return gpu_figures


def test_docs_table_is_the_scripts_table_before_any_figure(bench):
    """docs/gpu.md shows the table ``--render`` fills, row for row; until a GPU run, every value unmeasured."""
    import gpu_table

    text = (ROOT / "docs" / "gpu.md").read_text(encoding="utf-8")
    figures = text.split("## Figures", 1)[1]
    table = figures[figures.index("| figure | value |"):].strip()
    assert table == gpu_table.render({})
    assert [line.split(" | ")[0][2:] for line in table.splitlines()[2:]] == list(gpu_table.ROWS)


def test_without_cuda_the_real_run_refuses_and_names_the_dry_run(bench, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert bench.main(["--out", str(tmp_path)]) == 2
    assert "error: no CUDA device" in capsys.readouterr().err and not (tmp_path / bench.FIGURES).exists()
    assert bench.main(["--out", str(tmp_path), "--dry-run", "--sections", "tests,gpu"]) == 2
    assert "error: --sections: unknown gpu" in capsys.readouterr().err


def test_the_main_job_gets_300_s_or_what_the_8_minutes_leave(bench):
    full, start = bench.FULL, bench.START
    assert (full.deadline_s, full.search_timeout_s) == (480.0, 300) and full.search_args == ("--budget", "400M")
    assert bench.search_timeout(full, now=start + 60) == 300  # 420 s left: the full 5 minutes
    assert bench.search_timeout(full, now=start + 200) == 220  # 280 s left, a minute kept for the report
    with pytest.raises(RuntimeError, match="80 s left of the check's 480 s: the main job was not run"):
        bench.search_timeout(full, now=start + 400)
    assert bench.search_timeout(bench.DRY, now=start + 10_000) == 90  # the dry run has no deadline


@pytest.mark.slow
def test_the_dry_run_runs_every_section_on_the_cpu(bench, tmp_path):
    """``scripts/gpu_check.sh --dry-run`` with this interpreter's environment: every section's figures, and known
    answers where the sizes fix them."""
    activate = Path(sys.prefix) / "bin" / "activate"
    if not activate.is_file():
        pytest.skip(f"not in a virtual environment ({sys.prefix}); the script needs one to activate")
    out = tmp_path / "out"
    env = {**os.environ, "NASGEN_GPU_VENV": sys.prefix, "OUT": str(out), "CUDA_VISIBLE_DEVICES": ""}
    start = time.perf_counter()
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--dry-run"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    print(f"dry run: {time.perf_counter() - start:.0f} s, load {os.getloadavg()[0]:.1f}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads((out / "gpu_figures.json").read_text())
    assert data["dry_run"] is True and data["environment"]["device"] == "cpu" and data["environment"]["torch"]
    sections = data["sections"]
    tests = sections["tests"]
    assert tests["collected"] >= 10 and tests["skipped"] == tests["collected"] and tests["failed"] == 0
    assert all("needs a CUDA device" in reason for reason in tests["skip_reasons"])
    throughput = sections["throughput"]
    assert throughput["params"] == {"nasgen": 5_288_548, "torchvision": 5_288_548}  # B0, 1000 classes, both
    assert min(throughput["images_per_second"].values()) > 0 and throughput["autocast"] == "torch.float32"
    runs = sections["proxy"]["runs"]
    assert [(r["numerics"], r["seed"]) for r in runs] == [("bf16", 0), ("fp32", 0), ("bf16", 1), ("fp32", 1)]
    assert {r["autocast"] for r in runs} == {"torch.float32"}  # the CPU never autocasts, whatever the recipe says
    assert {r["resolution_px"] for r in runs} == {32} and all(0 <= r["val_top1"] <= 1 for r in runs)
    latency = sections["latency"]
    assert latency["n_archs"] == 2 and all(r["predicted_ms"] > 0 and r["measured_ms"] > 0 for r in latency["rows"])
    search = sections["search"]
    assert search["exit_code"] == 0 and search["trials"] == 1 and search["states"] == {"complete": 1}
    assert search["best"]["macs"] == 377_322_208 and search["devices"] == ["cpu"]  # B0, 1 channel, 10 classes
    assert (out / "search_best.yaml").is_file() and (out / "gpu_tests.xml").is_file()
    from gpu_table import render

    assert (out / "gpu_figures.md").read_text() == render(data) + "\n"
    assert "gpu_check: exit 0" in (out / "gpu_check.log").read_text()
