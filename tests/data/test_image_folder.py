"""ImageFolder hygiene (issue 19): empty class folders, stray files and conversions are never silent."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from nasgen.data import DataReport, load_dataset, split
from nasgen.errors import DataError


def _tree(tmp_path, classes=("cat", "dog"), n=3, mode="L", size=(8, 8)):
    root = tmp_path / "tree"
    for index, cls in enumerate(classes):
        (root / cls).mkdir(parents=True)
        for i in range(n):
            value = 40 + 100 * index
            Image.new(mode, size, value if mode == "L" else (value, 0, 0)).save(root / cls / f"{i}.png")
    return root


@pytest.mark.parametrize("in_memory", [False, True])  # streamed (the default) and the eager reader
def test_clean_tree_has_an_empty_report(tmp_path, in_memory):
    data = load_dataset(_tree(tmp_path), in_memory=in_memory)
    assert data.report == DataReport() and data.report.notes == ()


@pytest.mark.parametrize("in_memory", [False, True])
def test_empty_class_folder_is_refused_naming_it(tmp_path, in_memory):
    root = _tree(tmp_path, classes=("cat", "dog", "emu"))
    (root / "fox").mkdir()
    (root / "fox" / "readme.txt").write_text("no pictures yet")
    with pytest.raises(DataError, match=r"tree/fox: class folder holds no images .*--skip-empty-classes"):
        load_dataset(root, in_memory=in_memory)


@pytest.mark.parametrize("in_memory", [False, True])
def test_empty_class_folder_skipped_on_request_and_said_so(tmp_path, in_memory):
    root = _tree(tmp_path, classes=("cat", "dog", "emu"))
    (root / "fox").mkdir()
    data = load_dataset(root, skip_empty_classes=True, in_memory=in_memory)
    assert data.classes == ["cat", "dog", "emu"] and data.num_classes == 3  # not a 4th class with 0 images
    assert np.bincount(data.labels).tolist() == [3, 3, 3]
    assert data.report.skipped_classes == ("fox",)
    assert data.report.notes == ("skipped 1 empty class folder(s): fox",)


def test_stray_files_are_counted_and_listed(tmp_path):
    root = _tree(tmp_path)
    (root / "cat" / "notes.txt").write_text("x")
    (root / "dog" / ".DS_Store").write_bytes(b"\0")
    (root / "dog" / "sub").mkdir()
    (root / "dog" / "sub" / "labels.csv").write_text("a,b")
    (root / "dog" / "sub" / "extra.png").write_bytes((root / "dog" / "0.png").read_bytes())
    (root / "LICENSE").write_text("mine")
    data = load_dataset(root, in_memory=True)  # the eager reader (the streamed scan skips hidden files)
    assert len(data) == 7  # the nested png is an image of its class
    ignored = sorted(p.split("tree/")[1] for p in data.report.ignored_files)
    assert ignored == ["LICENSE", "cat/notes.txt", "dog/.DS_Store", "dog/sub/labels.csv"]
    assert data.report.notes == ("ignored 4 file(s) that are not images: LICENSE, notes.txt, .DS_Store, …",)
    train, val = split(data)
    assert train.report is data.report and val.report is data.report  # subsets keep it


def test_grey_and_colour_mixed_reported_once(tmp_path):
    root = _tree(tmp_path, mode="L")
    for i in range(2):
        Image.new("RGB", (8, 8), (10, 200, 30)).save(root / "dog" / f"colour{i}.png")
    data = load_dataset(root, in_memory=True)
    assert data.in_channels == 3
    assert data.images[0, 0, 0].tolist() == [40, 40, 40]  # a grey image, now 3 equal channels
    assert data.report.notes == ("6 grey image(s) among 8 converted to 3 channels (the folder mixes both)",)


def test_mixed_sizes_and_alpha_reported_once(tmp_path):
    root = _tree(tmp_path, mode="RGB")
    Image.new("RGB", (20, 12), (1, 2, 3)).save(root / "cat" / "wide.png")
    Image.new("RGBA", (8, 8), (9, 9, 9, 0)).save(root / "dog" / "clear.png")
    data = load_dataset(root, in_memory=True)  # the eager reader's 64 px; streamed: tests/data/test_api.py
    assert data.images.shape == (8, 64, 64, 3)
    assert data.report.notes == (
        "1 image(s) with an alpha channel: transparency dropped",
        "images come in 2 sizes (8x8 to 20x12 px): all resized to 64x64 px (aspect ratio not kept)",
    )
