"""``nasgen search`` on an ImageFolder: a bad file in the proxy subset and a one-class folder are one error line."""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from image_trees import make_tree  # noqa: E402

from nasgen.cli import app  # noqa: E402

runner = CliRunner()


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_bad_file_in_the_proxy_subset_names_it(tmp_path):
    root = make_tree(tmp_path / "tree", n_per_class=3)
    (root / "blue" / "zz.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    args = ["search", "--budget", "400M", "--data", str(root), "--out", str(tmp_path / "run"), "--loader-workers", "0"]
    line = _one_error_line(runner.invoke(app, args))
    assert str(root / "blue" / "zz.png") in line and "--skip-bad-images" in line


def test_folder_with_one_class_of_images(tmp_path):
    root = make_tree(tmp_path / "tree", n_per_class=3)
    for image in (root / "red").iterdir():
        image.unlink()
    (root / "red").rmdir()  # an empty class folder is its own error (issue 19); this test is about one class
    line = _one_error_line(runner.invoke(app, ["search", "--budget", "400M", "--data", str(root),
                                               "--out", str(tmp_path / "run")]))  # fmt: skip
    assert "only one class ('blue'); need at least two" in line and str(root) in line
