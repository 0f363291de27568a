"""``nasgen train`` on a streamed ImageFolder: --loader-workers, a bad file (exit 2, one line), --skip-bad-images."""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from image_trees import make_tree  # noqa: E402

from nasgen.cli import app  # noqa: E402

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

runner = CliRunner()


def _invoke(tmp_path, root, *extra):
    (tmp_path / "tiny.yaml").write_text(TINY)
    args = ["train", str(tmp_path / "tiny.yaml"), "--data", str(root), "--epochs", "1", "--batch-size", "16",
            "--out", str(tmp_path / "run"), "--device", "cpu", "--loader-workers", "0", *extra]  # fmt: skip
    return runner.invoke(app, args)


def test_bad_file_is_one_error_line_naming_it(tmp_path):
    root = make_tree(tmp_path / "tree", n_per_class=10)
    (root / "red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = _invoke(tmp_path, root)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and str(root / "red" / "broken.png") in lines[0] and "--skip-bad-images" in lines[0]
    assert "Traceback" not in result.output


def test_skip_bad_images_lists_the_file(tmp_path):
    root = make_tree(tmp_path / "tree", n_per_class=10)
    (root / "red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = _invoke(tmp_path, root, "--skip-bad-images")
    assert result.exit_code == 0, result.output
    assert "skipped 1 bad image(s):" in result.output
    assert "broken.png" in result.output.replace("\n", "")
    assert (tmp_path / "run" / "weights.safetensors").exists()
