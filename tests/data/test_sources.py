"""Every source kind of load_dataset, and every DataError, on tiny synthetic data in tmp_path."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from PIL import Image

from nasgen.data import ImageDataset, load_dataset
from nasgen.data._idx import read_idx
from nasgen.errors import DataError


def _write_idx(path, array: np.ndarray, compress: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as handle:
            handle.write(raw)
    else:
        path.write_bytes(raw)


def _idx_folder(tmp_path, compress: bool, n_train=12, n_test=4):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n_train + n_test, 6, 5), dtype=np.uint8)
    labels = np.arange(n_train + n_test) % 3
    _write_idx(tmp_path / "train-images-idx3-ubyte", images[:n_train], compress)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", labels[:n_train], compress)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", images[n_train:], compress)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[n_train:], compress)
    return images, labels


@pytest.mark.parametrize("compress", [True, False])
def test_idx_folder(tmp_path, compress):
    images, labels = _idx_folder(tmp_path, compress)
    data = load_dataset(tmp_path)
    assert data.images.shape == (16, 6, 5, 1)
    assert np.array_equal(data.images[..., 0], images)
    assert data.labels.tolist() == labels.tolist() and data.labels.dtype == np.int64
    assert data.classes == ["0", "1", "2"]
    assert data.val_index.tolist() == [12, 13, 14, 15]  # the t10k images are the shipped split


def test_malformed_idx(tmp_path):
    _idx_folder(tmp_path, compress=False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x0c\x01\x02")
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte: malformed IDX file: header shape \(12,\) needs 12"):
        load_dataset(tmp_path)
    (tmp_path / "bad").write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(tmp_path / "bad")


def test_idx_count_mismatch(tmp_path):
    _idx_folder(tmp_path, compress=False)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(11, dtype=np.uint8), compress=False)
    with pytest.raises(DataError, match="12 images but 11 labels"):
        load_dataset(tmp_path)


def _image_folder(tmp_path, mode="L", sizes=((8, 8),)):
    root = tmp_path / "tree"
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            size = sizes[i % len(sizes)]
            value = 40 if cls == "cat" else 200
            Image.new(mode, size, value if mode == "L" else (value, 0, 0)).save(root / cls / f"{i}.png")
    return root


def test_image_folder_grey(tmp_path):
    data = load_dataset(_image_folder(tmp_path), in_memory=True)  # the eager reader; streamed by default
    assert data.images.shape == (6, 8, 8, 1)
    assert data.classes == ["cat", "dog"]
    assert data.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert data.images[0].max() == 40 and data.images[5].min() == 200


def test_image_folder_rgb_mixed_sizes_resized(tmp_path):
    data = load_dataset(_image_folder(tmp_path, "RGB", sizes=((8, 8), (10, 12))), in_memory=True)
    assert data.images.shape == (6, 64, 64, 3)
    assert data.images[0, 10, 10].tolist() == [40, 0, 0]


def test_npz_with_images_labels_and_x_y(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(10, 4, 4, 3), dtype=np.uint8)
    np.savez(tmp_path / "a.npz", images=images, labels=np.arange(10) % 2, classes=np.array(["no", "yes"]))
    data = load_dataset(tmp_path / "a.npz")
    assert np.array_equal(data.images, images) and data.classes == ["no", "yes"]
    np.savez(tmp_path / "b.npz", x=np.full((4, 5, 5), 0.5, dtype=np.float32), y=np.array([0, 1, 2, 0]))
    data = load_dataset(tmp_path / "b.npz")
    assert data.images.shape == (4, 5, 5, 1) and int(data.images[0, 0, 0, 0]) == 128
    assert data.classes == ["0", "1", "2"]


def test_max_images_is_class_balanced_and_seeded(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros((100, 4, 4), np.uint8), y=np.arange(100) % 4)
    a = load_dataset(tmp_path / "a.npz", max_images=20, seed=3)
    assert np.bincount(a.labels).tolist() == [5, 5, 5, 5]
    assert len(load_dataset(tmp_path / "a.npz", max_images=20, seed=3)) == 20


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"images": np.zeros((4, 3, 3), np.uint8), "labels": np.zeros(3, int)}, "4 images but 'labels' has shape"),
        ({"images": np.zeros((4, 3, 3), np.uint8), "labels": np.zeros(4, int)}, "only one class"),
        ({"pixels": np.zeros((4, 3, 3), np.uint8), "labels": np.zeros(4, int)}, r"needs arrays 'images' \(or 'x'\)"),
        ({"x": np.zeros((4, 3), np.uint8), "y": np.arange(4) % 2}, r"got \(4, 3\)"),
        ({"x": np.zeros((0, 3, 3), np.uint8), "y": np.zeros(0, int)}, "no images"),
        ({"x": np.zeros((2, 3, 3), np.uint8), "y": np.array([0.0, 1.0])}, "integer class indices"),
    ],
)
def test_npz_errors(tmp_path, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(DataError, match=message):
        load_dataset(tmp_path / "d.npz")


def test_missing_path_empty_folder_one_class(tmp_path):
    with pytest.raises(DataError, match="data path does not exist: '.*nope'"):
        load_dataset(tmp_path / "nope")
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    with pytest.raises(DataError, match="no images"):
        load_dataset(tmp_path / "empty")
    root = _image_folder(tmp_path)
    for path in (root / "dog").iterdir():
        path.unlink()
    (root / "dog").rmdir()  # an empty class folder is refused on its own (test_image_folder.py)
    with pytest.raises(DataError, match=r"only one class \('cat'\)"):
        load_dataset(root)
    (tmp_path / "data.csv").write_text("1,2\n")  # streamed as a path,label list unless read in memory
    with pytest.raises(DataError, match="must be an .npz"):
        load_dataset(tmp_path / "data.csv", in_memory=True)


def test_corrupt_image_and_fake_npz_are_named(tmp_path):
    root = _image_folder(tmp_path)
    (root / "cat" / "broken.png").write_text("not an image")
    with pytest.raises(DataError, match=r"broken\.png: not an image file PIL can identify"):
        load_dataset(root, in_memory=True)  # the eager reader decodes now; streamed files: tests/data/test_api.py
    (tmp_path / "fake.npz").write_text("not a zip")
    with pytest.raises(DataError, match=r"fake\.npz: not an \.npz archive"):
        load_dataset(tmp_path / "fake.npz")


def test_fashion_mnist_missing_gives_install_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("NASGEN_FASHION_MNIST", str(tmp_path / "absent"))
    with pytest.raises(DataError, match="apt install dataset-fashion-mnist"):
        load_dataset("fashion-mnist")


def test_fashion_mnist_from_env_folder(tmp_path, monkeypatch):
    _idx_folder(tmp_path, compress=True)
    monkeypatch.setenv("NASGEN_FASHION_MNIST", str(tmp_path))
    data = load_dataset("fashion-mnist")
    assert data.name == "fashion-mnist" and len(data) == 16 and len(data.classes) == 10


def test_dataset_validation():
    with pytest.raises(DataError, match="labels must lie in"):
        ImageDataset(np.zeros((2, 3, 3, 1), np.uint8), np.array([0, 5]), ["a", "b"], "t")
    with pytest.raises(DataError, match="must be uint8"):
        ImageDataset(np.zeros((2, 3, 3, 1), np.float32), np.array([0, 1]), ["a", "b"], "t")
