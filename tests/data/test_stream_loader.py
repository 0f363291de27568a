"""The streaming loader's augmentation depends on the seed and the file only, not on the workers."""

from __future__ import annotations

import numpy as np
import torch
from image_trees import make_tree

from nasgen.data._files import scan_image_folder
from nasgen.data._stream import make_loader


def _epoch(files, workers: int, seed: int) -> torch.Tensor:
    order = np.random.default_rng(0).permutation(len(files))
    loader = make_loader(files, 32, train=True, batch_size=5, workers=workers, order=order, seed=seed)
    return torch.cat([batch.images for batch in loader])


def test_same_crops_whatever_the_number_of_workers(tmp_path):
    files = scan_image_folder(make_tree(tmp_path / "tree", n_per_class=8))
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    in_process = _epoch(files, 0, seed=7)
    assert torch.equal(torch.rand(1), before)  # the caller's RNG is untouched by decoding in this process
    assert torch.equal(_epoch(files, 2, seed=7), in_process)
    other_seed = _epoch(files, 0, seed=8)
    assert in_process.shape == other_seed.shape == (16, 3, 32, 32)
    assert not torch.equal(other_seed, in_process)  # another epoch's seed gives other crops
