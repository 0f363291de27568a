"""``nasgen profile`` in-process with Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nasgen.cli import app
from nasgen.spec import dump_yaml, load_spec

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["profile", *args])


def test_b0_table() -> None:
    result = _run("efficientnet-b0")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "params       5,288,548 (5.3M)" in out
    assert "MACs         385.8M (385,814,752)" in out
    assert "FLOPs        771.6M (2 x MACs)" in out
    assert "88,717,952 bytes; batch 1, 4 bytes/element" in out
    cells = [[c.strip() for c in line.split("│")] for line in out.splitlines() if "│" in line]
    rows = {row[0]: row for row in cells}
    assert rows["stem"][2:5] == ["32×112×112", "928", "10.8M"]
    assert rows["1"][1:5] == ["ir_r2_k3_s2_e6_c24_se0.25", "24×56×56", "16,714", "54.9M"]
    assert rows["6"][2] == "320×7×7"
    assert rows["head"][2] == "1000"
    assert len(rows) == 9


def test_json(tmp_path: Path) -> None:
    result = _run("efficientnetv2-s", "--json", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # exactly one JSON object
    assert (data["params"], data["macs"], data["flops"]) == (21_458_488, 8_365_617_152, 2 * 8_365_617_152)
    assert data["resolution_px"] == 384 and data["batch_size"] == 2
    assert data["hash"] == load_spec("efficientnetv2-s").content_hash()
    assert len(data["graph_hash"]) == 32
    assert [s["display"] for s in data["stages"]] == load_spec("efficientnetv2-s").display()
    assert data["stages"][5]["output_shape"] == [256, 12, 12]
    parts = [data["stem"], *data["stages"], data["head"]]
    assert sum(p["macs"] for p in parts) == data["macs"]
    assert sum(p["activation_bytes"] for p in parts) == data["activation_bytes"]
    assert "measured" not in data


def test_file_and_resolution(tmp_path: Path) -> None:
    path = tmp_path / "b0.yaml"
    path.write_text(dump_yaml(load_spec("efficientnet-b0")), encoding="utf-8")
    data = json.loads(_run(str(path), "--resolution", "240", "--json").stdout)
    assert data["resolution_px"] == 240
    assert data["params"] == 5_288_548
    assert data["stages"][-1]["output_shape"] == [320, 8, 8]


def test_measure_agrees() -> None:
    spec = load_spec("efficientnet-b0")
    result = _run("efficientnet-b0", "--resolution", "64", "--measure")
    assert result.exit_code == 0, result.output
    assert "5,288,548 params: agrees" in result.output
    data = json.loads(_run("efficientnet-b0", "--resolution", "64", "--measure", "--json").stdout)
    assert data["measured"] == {"macs": data["macs"], "params": 5_288_548, "agrees": True}
    assert data["macs"] < 385_814_752 and spec.resolution_px == 224


def test_help_states_the_convention() -> None:
    result = runner.invoke(app, ["profile", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Conv2d and Linear layers only" in text
    assert "2 x MACs" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.yaml"], "missing.yaml"),
        (["no-such-arch"], "neither a file nor a built-in"),
        (["efficientnet-b0", "--resolution", "16"], "resolution_px: resolution_px 16 is below the total stride 32"),
        (["efficientnet-b0", "--batch-size", "0"], "batch_size: must be a positive integer, got 0"),
    ],
)
def test_bad_input(args: list[str], message: str) -> None:
    result = _run(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert message in " ".join(result.output.split())


def test_bad_yaml_and_bad_kernel(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("stem: [unclosed\n", encoding="utf-8")
    result = _run(str(broken))
    assert result.exit_code == 2 and "broken.yaml" in result.output and "Traceback" not in result.output

    text = dump_yaml(load_spec("efficientnet-b0")).replace("kernel_size: 5", "kernel_size: 4", 1)
    bad = tmp_path / "kernel4.yaml"
    bad.write_text(text, encoding="utf-8")
    result = _run(str(bad))
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "kernel4.yaml, line" in out and "stages.2.kernel_size" in out and "got 4" in out
    assert len(result.output.strip().splitlines()) == 1
