"""Hostile image data through ``nasgen train … --epochs 1`` (issue 30), table-driven, beside the YAML fuzz test
(``tests/spec/test_fuzz.py``): every case ends in exit 0 with its ``note:``, or in exit 2 with exactly one
``error:`` line naming the file — never a traceback.

The cases are built in the test (``tests/data/hostile_images.py``: a truncated JPEG, a zero-byte file, text named
``.png``, a JPEG header claiming 65,000 × 65,000 px, a bad row of a ``path,label`` list, one image per class, a
40,000 × 40,000 px PNG bomb of 2.5 kB, a 1,000-frame GIF, a 1 × 1 px image, a 12,000 × 2 px sliver, a symbolic
link loop and links leaving the tree). Their time and memory in a subprocess are measured by
``benchmarks/fuzz_data.py`` and bounded by the slow test below, not by a timed unit test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from hostile_images import CASES, Case, tree

from nasgen.cli import app

TINY = """\
name: tiny
in_channels: 3
resolution_px: 32
stem: {out_channels: 8, kernel_size: 3, stride: 2}
stages:
- {kind: mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 16}
head_channels: 16
num_classes: 2
"""


def _lines(output: str, prefix: str) -> list[str]:
    """The lines starting with ``prefix``, each joined back to one line (rich wraps at the terminal width)."""
    joined, current = [], None
    for line in output.splitlines():
        if line.startswith(("note:", "error:", "epoch", "val top-1", "skipped", "latency:")):
            current = line
            joined.append(current)
        elif current is not None and joined:
            joined[-1] += " " + line.strip()
    return [" ".join(line.split()) for line in joined if line.startswith(prefix)]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_input_ends_in_a_note_or_one_error_line(case: Case, tmp_path: Path) -> None:
    data = case.build(tmp_path)
    (tmp_path / "tiny.yaml").write_text(TINY)
    args = ["train", str(tmp_path / "tiny.yaml"), "--data", str(data), "--epochs", "1", "--batch-size", "8",
            "--out", str(tmp_path / "run"), "--device", "cpu", "--loader-workers", "0", *case.args]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == case.exit_code, result.output
    if case.exit_code == 2:
        errors = _lines(result.output, "error:")
        assert len(errors) == 1 and case.says in errors[0], result.output
        assert not (tmp_path / "run" / "weights.safetensors").exists()
    else:
        said = _lines(result.output, "note:") + _lines(result.output, "skipped")
        assert any(case.says in line for line in said), result.output
        assert (tmp_path / "run" / "weights.safetensors").exists()
    assert "Traceback" not in result.output


WORST = ("png bomb", "jpeg claiming 65,000 px", "1,000-frame gif", "12,000 x 2 px sliver")


@pytest.mark.slow
@pytest.mark.parametrize("name", WORST)
def test_worst_cases_stay_within_60_s_and_1_gb(name: str, tmp_path: Path) -> None:
    # in a subprocess with decode workers, as a user runs it: CPU time (a loaded machine stretches wall time)
    # and the peak RSS over a clean tree's run of the same size (import torch alone is ~0.8 GB of it)
    from fuzz_data import run_case

    baseline = run_case(Case("clean", lambda tmp: tree(tmp / "data"), 0, "val top-1"), tmp_path / "clean")
    case = next(case for case in CASES if case.name == name)
    figures = run_case(case, tmp_path / "case")
    assert figures["exit"] == case.exit_code and figures["clean"], figures["output"]
    assert figures["cpu_s"] < 60 and figures["wall_s"] < 120, figures
    assert figures["rss_mb"] - baseline["rss_mb"] < 1024, (figures["rss_mb"], baseline["rss_mb"])
