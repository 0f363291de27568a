"""``nasgen scale`` and ``nasgen plugins`` in-process with CliRunner."""

from __future__ import annotations

from pathlib import Path

import nasgen_scaling
import pytest
from typer.testing import CliRunner

from nasgen.cli import app
from nasgen.cost import count_cost
from nasgen.spec import load_spec, loads_spec

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "120"})
    return result.exit_code, result.output


def test_phi_prints_a_valid_yaml_document() -> None:
    code, out = _run("scale", "efficientnet-b0", "--phi", "3")
    assert code == 0, out
    assert out.startswith("# efficientnet-b0-phi3: 341 px, 16.4M params (16,350,296), 3.3G MACs (3,250,916,456); "
                          "predicted cost ratio 7.081, measured cost ratio 8.426\n")
    spec = loads_spec(out)
    assert spec.resolution_px == 341 and count_cost(spec).macs == 3_250_916_456


def test_preset_to_file(tmp_path: Path) -> None:
    out_file = tmp_path / "b4.yaml"
    code, out = _run("scale", "efficientnet-b0", "--preset", "b4", "-o", str(out_file))
    assert code == 0, out
    assert "wrote " in out and "19,341,616" in out and "4,393,771,024" in out
    assert count_cost(load_spec(out_file)).params == 19_341_616


def test_apply_is_the_default_subcommand() -> None:
    explicit = _run("scale", "apply", "efficientnet-b0", "--phi", "1")
    assert explicit == _run("scale", "efficientnet-b0", "--phi", "1")
    assert explicit[0] == 0


def test_family_table(tmp_path: Path) -> None:
    code, out = _run("scale", "efficientnet-b0", "--family", "0-7", "-o", str(tmp_path))
    assert code == 0, out
    for row in ("phi=0", "phi=3", "phi=7"):
        assert row in out
    assert "16,350,296" in out and "3,250,916,456" in out and "7.081" in out and "8.426" in out
    assert "39,663,901,696" in out  # φ = 7: no MACs cut off in the table
    assert sorted(p.name for p in tmp_path.iterdir())[:2] == ["efficientnet-b0-phi0.yaml", "efficientnet-b0-phi1.yaml"]
    code, out = _run("scale", "efficientnet-b0", "--family", "b1-b7")
    assert code == 0 and "66,347,960" in out and "37,745,884,192" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--phi", "-1"], "error: phi: must be >= 0, got -1.0"),
        (["--phi", "1", "--alpha", "0.9"], "error: alpha: must be >= 1, got 0.9"),
        (["--preset", "b9"], "error: preset: unknown preset 'b9'; known presets: b0, b1, b2, b3, b4, b5, b6, b7"),
        ([], "error: scale: give exactly one of --phi, --preset or --family"),
        (["--phi", "1", "--preset", "b1"], "give exactly one of"),
        (["--family", "7-0"], "error: family: must be an ascending range like 0-7 or b0-b7, got '7-0'"),
    ],
)
def test_bad_input_exits_2_without_traceback(args: list[str], message: str) -> None:
    code, out = _run("scale", "efficientnet-b0", *args)
    assert code == 2
    assert message in out
    assert "Traceback" not in out


def test_unknown_architecture() -> None:
    code, out = _run("scale", "efficientnet-b9", "--phi", "1")
    assert code == 2 and "neither a file nor a built-in architecture" in out


def test_search_coefficients_prints_table_and_best(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nasgen_scaling, "proxy_scorer", lambda data, seed: lambda spec: spec.resolution_px / 1000)
    code, out = _run("scale", "search-coefficients", "efficientnet-b0", "--step", "0.2", "--max-value", "1.4",
                     "--tolerance", "0.15")
    assert code == 0, out
    assert "5 candidates" in out
    assert "best: alpha=1 beta=1 gamma=1.4 (val_top1 0.3140)" in out


def test_plugins_command_lists_the_builtin() -> None:
    code, out = _run("plugins")
    assert code == 0, out
    assert "compound_scaling  (nasgen_scaling.plugin, from " in out
    assert "transforms: scale, scale_preset" in out
