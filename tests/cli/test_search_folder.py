"""``nasgen search`` on an ImageFolder: a bad file in the proxy subset and a one-class folder are one error line."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image
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


def test_a_bomb_in_the_proxy_subset_is_one_error_line_or_skipped_with_the_notes(tmp_path):
    # issue 30: the proxy cache decodes through the same bad-image path, and the data's notes are said
    from hostile_images import png_bomb

    root = make_tree(tmp_path / "tree", n_per_class=3)
    png_bomb(root / "red" / "bomb.png")
    Image.new("RGB", (12_000, 2)).save(root / "blue" / "sliver.png")
    args = ["search", "--budget", "400M", "--data", str(root), "--loader-workers", "0"]
    line = _one_error_line(runner.invoke(app, [*args, "--out", str(tmp_path / "a")]))
    assert f"{root / 'red' / 'bomb.png'}: claims 40,000 x 40,000 px" in line and "--skip-bad-images" in line
    # every sample over --max-params: nothing is trained, but the cache is built and the notes are said
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "b"), "--skip-bad-images", "--max-params", "1K",
                                 "--n-trials", "1"])  # fmt: skip
    notes = [" ".join(line.split()) for line in result.output.replace("\nnote:", "\n\nnote:").split("\n\n")
             if line.startswith("note:")]  # fmt: skip
    assert any("1 image(s) with an aspect ratio above 20:1 (sliver.png: 12000x2 px)" in note for note in notes)
    assert any(note.startswith("note: skipped 1 bad image(s):") and "bomb.png (claims 40,000" in note
               for note in notes), result.output  # fmt: skip
    assert "Traceback" not in result.output
