"""The proxy cache: class-balanced subset decoded once, in memory or memory-mapped, reused, bad files."""

from __future__ import annotations

import numpy as np
import pytest
from image_trees import make_tree

import nasgen.data._cache as cache_module
from nasgen.data._cache import proxy_cache
from nasgen.data._files import scan_image_folder
from nasgen.errors import DataError


@pytest.fixture()
def files(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "_BUILT", {})
    return scan_image_folder(make_tree(tmp_path / "tree", n_per_class=15))


def test_in_memory_cache_is_class_balanced_and_built_once(files):
    first = proxy_cache(files, 24, n_images=10, workers=0)
    assert not first.reused and first.path is None and first.seconds > 0
    data = first.dataset
    assert data.images.shape == (10, 24, 24, 3) and data.images.dtype == np.uint8
    assert np.bincount(data.labels).tolist() == [5, 5]
    # the colours survive: red images have a red mean above their blue mean, and the other way round
    means = data.images.reshape(10, -1, 3).mean(axis=1)
    red = data.labels == files.classes.index("red")
    assert (means[red, 0] > means[red, 2] + 100).all() and (means[~red, 2] > means[~red, 0] + 100).all()
    again = proxy_cache(files, 24, n_images=10, workers=0)
    assert again.reused and again.seconds == 0.0 and again.dataset is data


def test_large_cache_is_memory_mapped_and_shared_through_the_file(files, tmp_path):
    built = proxy_cache(files, 16, n_images=12, workers=0, cache_dir=tmp_path / "run", memory_limit_bytes=0)
    assert built.path is not None and built.path.parent == tmp_path / "run" and not built.reused
    assert isinstance(built.dataset.images, np.memmap)
    cache_module._BUILT.clear()  # another process of the study: only the file is shared
    reused = proxy_cache(files, 16, n_images=12, workers=0, cache_dir=tmp_path / "run", memory_limit_bytes=0)
    assert reused.reused and reused.path == built.path
    assert np.array_equal(np.asarray(reused.dataset.images), np.asarray(built.dataset.images))
    assert np.array_equal(reused.dataset.labels, built.dataset.labels)


def test_bad_file_in_the_subset_fails_or_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "_BUILT", {})
    root = make_tree(tmp_path / "tree", n_per_class=4)
    (root / "red" / "zz.jpg").write_text("junk")
    files = scan_image_folder(root)
    with pytest.raises(DataError, match=r"red/zz\.jpg: not an image"):
        proxy_cache(files, 16, n_images=9, workers=0)
    kept = proxy_cache(files, 16, n_images=9, workers=0, skip_bad_images=True)
    assert len(kept.dataset) == 8 and list(kept.skipped) == [str(root / "red" / "zz.jpg")]
