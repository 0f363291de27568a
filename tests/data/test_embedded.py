"""The shipped Fashion-MNIST subset: size, class balance, fixed split, reproducible build."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from nasgen.data import embedded_path, load_dataset, split
from nasgen.data._idx import FASHION_MNIST_DIR, find_idx_pair

ROOT = Path(__file__).resolve().parents[2]


def test_embedded_file_is_small_and_licensed():
    path = embedded_path()
    assert path.is_file()
    assert path.stat().st_size < 6_000_000
    assert "Zalando SE" in (path.parent / "LICENSE").read_text()
    assert "Zalando SE" in (ROOT / "NOTICE").read_text()


def test_embedded_shapes_classes_and_balance():
    data = load_dataset()
    assert data.name == "embedded"
    assert data.images.shape == (12_000, 28, 28, 1) and data.images.dtype == np.uint8
    assert data.labels.dtype == np.int64
    assert data.classes[0] == "T-shirt/top" and data.classes[9] == "Ankle boot"
    train, val = split(data)
    assert np.bincount(train.labels).tolist() == [1000] * 10
    assert np.bincount(val.labels).tolist() == [200] * 10
    assert load_dataset("embedded").images.tobytes() == data.images.tobytes()


def test_embedded_split_ignores_seed_unless_a_fraction_is_given():
    data = load_dataset()
    a, _ = split(data, seed=0)
    b, _ = split(data, seed=5)
    assert np.array_equal(a.labels, b.labels)
    c, d = split(data, 0.5, seed=0)
    assert len(c) == len(d) == 6000


@pytest.mark.skipif(find_idx_pair(FASHION_MNIST_DIR, "train") is None, reason="dataset-fashion-mnist not installed")
def test_build_script_reproduces_the_shipped_arrays():
    spec = importlib.util.spec_from_file_location("build_embedded_data", ROOT / "scripts" / "build_embedded_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rebuilt = module.build_arrays(FASHION_MNIST_DIR, seed=0, train_per_class=1000, val_per_class=200)
    with np.load(embedded_path()) as shipped:
        assert sorted(shipped.files) == sorted(rebuilt)
        for key, value in rebuilt.items():
            assert np.array_equal(shipped[key], value), key
    # The subset really is drawn from the source files, at the recorded positions.
    from nasgen.data._idx import read_idx

    source = read_idx(FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz")
    assert np.array_equal(source[rebuilt["val_index"]], rebuilt["val_images"])
