"""``nasgen spaces`` and ``nasgen validate`` in-process with Typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from nasgen.cli import app

runner = CliRunner()
REPO = Path(__file__).parents[2]


def _run(*args: str):
    return runner.invoke(app, list(args))


def test_spaces_lists_the_builtin_spaces_with_size_and_dimensions() -> None:
    result = _run("spaces")
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") >= 4}
    assert "6.28e+15" in rows["efficientnet-v1"] and "│         41 │" in rows["efficientnet-v1"]
    assert "6.67e+13" in rows["efficientnet-v2"] and "35" in rows["efficientnet-v2"]
    assert "MBConv stages around" in rows["efficientnet-v1"]  # the description column wraps at 80 columns
    assert "EfficientNet-B0" in result.output and "EfficientNetV2-S" in result.output


def test_validate_space_file_prints_size_and_macs_range() -> None:
    result = _run("validate", str(REPO / "search_spaces" / "efficientnet-v1.yaml"))
    assert result.exit_code == 0, result.output
    assert "architectures: 6,278,145,006,551,040 (6.28e+15)" in result.output
    assert "dimensions: 41" in result.output
    assert "smallest: 4.8M MACs (4,767,072) at 96 px" in result.output
    assert "largest: 1.1G MACs (1,121,147,328) at 224 px" in result.output
    assert "contains: efficientnet-b0\n" in result.output


def test_validate_builtin_space_by_name() -> None:
    result = _run("validate", "efficientnet-v2")
    assert result.exit_code == 0, result.output
    assert "contains: efficientnetv2-s\n" in result.output
    assert "architectures: 66,733,159,219,200" in result.output


def test_validate_detects_an_architecture_file() -> None:
    result = _run("validate", str(REPO / "nasgen" / "archs" / "efficientnet-b0.yaml"))
    assert result.exit_code == 0, result.output
    assert "architecture efficientnet-b0 (16 blocks)" in result.output
    assert "385.8M MACs (385,814,752) at 224 px" in result.output
    assert "params: 5.3M (5,288,548)" in result.output


def test_validate_bad_space_exits_2_with_one_line(tmp_path: Path) -> None:
    text = (REPO / "search_spaces" / "efficientnet-v1.yaml").read_text()
    bad = tmp_path / "space.yaml"
    bad.write_text(text.replace("kernel_size: [3, 5]", "kernel_size: [3, 4]", 4))
    result = _run("validate", str(bad))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    line_no = next(n for n, line in enumerate(bad.read_text().splitlines(), 1) if "[3, 4]" in line)
    assert lines[0] == f"error: {bad}, line {line_no}: stages.0.kernel_size: must be 3, 5 or 7, got 4"


def test_validate_missing_file_exits_2() -> None:
    result = _run("validate", "no-such-space.yaml")
    assert result.exit_code == 2
    assert result.output.strip() == "error: no-such-space.yaml: no such file"


def test_validate_unknown_bare_name_lists_the_builtins_close_matches_first() -> None:
    result = _run("validate", "efficientnet-b9")
    assert result.exit_code == 2
    from nasgen.spec import builtin_architectures

    close = ["efficientnet-b8", "efficientnet-b7", "efficientnet-b6"]  # B1-B8 are built in since issue 28
    rest = [name for name in sorted(builtin_architectures()) if name not in close]
    assert result.output.strip() == (
        "error: efficientnet-b9: no such file, and not a built-in name (did you mean efficientnet-b8 or "
        f"efficientnet-b7 or efficientnet-b6?); built-in architectures: {', '.join(close + rest)}; spaces: "
        "efficientnet-v1, efficientnet-v2"
    )
    result = _run("validate", "efficientnet-v9")
    assert "(did you mean efficientnet-v2 or efficientnet-v1 or efficientnet-es?)" in result.output
    assert result.output.strip().endswith("spaces: efficientnet-v2, efficientnet-v1")


def test_validate_unknown_name_far_from_any_builtin_still_lists_them() -> None:
    result = _run("validate", "resnet")
    assert result.exit_code == 2
    from nasgen.spec import builtin_architectures

    archs = ", ".join(sorted(builtin_architectures()))  # from efficientnet-b0 to efficientnetv2-xl
    assert archs.startswith("efficientnet-b0, efficientnet-b1, ") and archs.endswith("efficientnetv2-xl")
    assert result.output.strip() == (
        f"error: resnet: no such file, and not a built-in name; built-in architectures: {archs}; spaces: "
        "efficientnet-v1, efficientnet-v2"
    )
