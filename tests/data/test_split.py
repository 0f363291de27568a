"""Stratified, seeded splits and the resized-tensor cache."""

from __future__ import annotations

import numpy as np
import pytest

from nasgen.data import ImageDataset, split, stratified_order
from nasgen.errors import DataError


def _dataset(n_per_class=(30, 20, 10)) -> ImageDataset:
    labels = np.concatenate([np.full(n, c) for c, n in enumerate(n_per_class)])
    images = np.arange(len(labels), dtype=np.uint8).reshape(-1, 1, 1, 1).repeat(4, 1).repeat(4, 2)
    return ImageDataset(images, labels.astype(np.int64), ["a", "b", "c"], "toy")


def test_split_is_stratified_disjoint_and_fixed_by_seed():
    data = _dataset()
    train, val = split(data, 0.2, seed=7)
    assert np.bincount(val.labels).tolist() == [6, 4, 2]
    assert np.bincount(train.labels).tolist() == [24, 16, 8]
    ids = lambda d: set(d.images[:, 0, 0, 0].tolist())  # noqa: E731
    assert not ids(train) & ids(val) and len(ids(train) | ids(val)) == 60
    again, _ = split(data, 0.2, seed=7)
    other, _ = split(data, 0.2, seed=8)
    assert np.array_equal(train.images, again.images)
    assert not np.array_equal(train.images, other.images)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_rejects_bad_fraction(fraction):
    with pytest.raises(DataError, match=f"val_fraction must lie in \\(0, 1\\), got {fraction}"):
        split(_dataset(), fraction)


def test_stratified_order_prefixes_are_balanced():
    labels = _dataset((40, 40, 20)).labels
    order = stratified_order(labels, seed=0)
    assert sorted(order.tolist()) == list(range(100))
    assert np.bincount(labels[order[:10]]).tolist() == [4, 4, 2]
    assert np.array_equal(order, stratified_order(labels, seed=0))


def test_images_at_resizes_once_and_caches():
    from nasgen.data._tensors import images_at

    data = _dataset()
    small = images_at(data, 2)
    assert small.shape == (60, 1, 2, 2) and str(small.dtype) == "torch.uint8"
    assert images_at(data, 2) is small
    assert int(small[17, 0, 1, 1]) == 17  # a constant image stays constant when resized
    assert images_at(data, 4).shape == (60, 1, 4, 4)
