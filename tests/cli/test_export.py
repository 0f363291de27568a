"""``nasgen export``: files written and listed with sizes; bad input exits 2 with one error line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState, create_trial
from typer.testing import CliRunner

from nasgen.cli import app
from nasgen.cost import count_cost
from nasgen.spec import dump_yaml, load_spec, save_spec

runner = CliRunner()

TINY = load_spec("efficientnet-b0").replace(
    name="cli-tiny",
    resolution_px=32,
    stages=[
        {"kind": "mbconv", "num_layers": 1, "kernel_size": 3, "stride": 1, "expand_ratio": 1, "out_channels": 16},
        {"kind": "mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 4, "out_channels": 24},
    ],
    head_channels=64,
    num_classes=10,
)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _run(*args: str):
    return runner.invoke(app, ["export", *args])


def _study(folder: Path, trials: list[tuple[TrialState, float | None]]) -> Path:
    folder.mkdir()
    study = optuna.create_study(
        study_name=folder.name, storage=f"sqlite:///{folder / 'study.db'}", direction="maximize"
    )
    for state, value in trials:
        attrs = {"spec_yaml": dump_yaml(TINY), "feasible": True, "macs": count_cost(TINY).macs}
        if value is not None:
            attrs["val_top1"] = value
        study.add_trial(create_trial(state=state, value=value, user_attrs=attrs))
    return folder


def test_export_an_arch_file(tmp_path):
    arch = save_spec(TINY, tmp_path / "tiny.yaml")
    result = _run(str(arch), "-o", str(tmp_path / "out"), "--format", "arch,code,torchscript,manifest")
    assert result.exit_code == 0, result.output
    cost = count_cost(TINY)
    assert f"exported file {arch} to {tmp_path / 'out'}" in result.output
    assert f"MACs at 32 px (conv + linear, batch 1), hash {TINY.short_hash()}" in result.output
    for name in ("arch.yaml", "model.py", "model.ts", "manifest.json"):
        line = next(line for line in result.output.splitlines() if line.strip().startswith(name))
        assert " s" in line  # size and seconds are listed
    assert "max |diff| vs eager 0" in result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert (manifest["params"], manifest["macs"]) == (cost.params, cost.macs)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "arch.yaml",
        "manifest.json",
        "model.py",
        "model.ts",
    ]


def test_export_a_trial_of_a_run(tmp_path):
    run = _study(tmp_path / "run", [(TrialState.COMPLETE, 0.3), (TrialState.COMPLETE, 0.6)])
    result = _run(str(run), "-o", str(tmp_path / "out"), "--trial", "0", "-f", "arch,manifest")
    assert result.exit_code == 0, result.output
    assert f"exported study 'run', trial 0 of run {run}" in result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert (manifest["source"]["trial"], manifest["score"]) == (0, 0.3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["efficientnet-b0", "--format", "arch,pb"], "error: format: unknown format 'pb'"),
        (["efficientnet-b0", "--format", "weights"], "error: format weights: built-in architecture"),
        (["efficientnet-b0", "--trial", "2"], "error: trial 2 was asked for, but 'efficientnet-b0' is not a search"),
        (["efficientnet-b0", "--trial", "last"], "error: trial: expected 'best' or a trial number, got 'last'"),
        (["efficientnet-b9"], "error: 'efficientnet-b9' is neither a file nor a built-in architecture"),
    ],
)
def test_bad_input_exits_2_without_traceback(tmp_path, args, message):
    result = _run(*args, "-o", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_non_empty_output_directory_and_force(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    result = _run("efficientnet-b0", "-o", str(tmp_path), "-f", "arch")
    assert result.exit_code == 2 and "already holds files (old.txt); pass --force" in result.output
    result = _run("efficientnet-b0", "-o", str(tmp_path), "-f", "arch", "--force")
    assert result.exit_code == 0 and (tmp_path / "arch.yaml").is_file()


def test_run_with_no_completed_trial_and_missing_trial(tmp_path):
    run = _study(tmp_path / "run", [(TrialState.RUNNING, None), (TrialState.FAIL, None)])
    result = _run(str(run), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "has no completed, feasible trial yet (1 failed, 1 running)" in result.output
    result = _run(str(run), "-o", str(tmp_path / "out"), "--trial", "9")
    assert result.exit_code == 2 and "trial 9 does not exist in study 'run' (trials 0-1)" in result.output


def test_onnx_without_the_extra_prints_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setattr("nasgen.exporting._formats.onnx_available", lambda: False)
    result = _run("efficientnet-b0", "-o", str(tmp_path / "out"), "-f", "onnx")
    assert result.exit_code == 2
    assert "pip install 'nasgen[onnx]'" in result.output  # brackets survive rich markup


def test_help_lists_formats_without_importing_torch():
    import subprocess

    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom nasgen.cli import app\n"
        "r = CliRunner().invoke(app, ['export', '--help'])\nassert r.exit_code == 0, r.output\n"
        "assert 'torchscript' in r.output and \"nasgen[onnx]\" in r.output, r.output\n"
        "assert 'torch' not in sys.modules and 'optuna' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
