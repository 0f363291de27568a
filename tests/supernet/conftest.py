"""Shared set-up of the supernet tests: a small slice of the embedded data and the ds plugin kind."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator

import numpy as np
import pytest

from nasgen.data import ImageDataset, load_dataset
from nasgen.spec import register_block_kind, unregister_stage_kind
from supernet_helpers import DS_PLUGIN


@pytest.fixture(scope="session")
def small_data() -> tuple[ImageDataset, ImageDataset]:
    """600 training and 200 validation images of the embedded Fashion-MNIST subset (28×28 grey, 10 classes)."""
    data = load_dataset()
    val = np.asarray(data.val_index)
    train = np.setdiff1d(np.arange(len(data)), val)
    return data.subset(train[:600], "embedded[:600]"), data.subset(val[:200], "embedded-val[:200]")


@pytest.fixture(scope="module")
def ds_kind() -> Iterator[None]:
    """The ds test plugin's block kind registered, as the plugin manager registers it, for one module."""
    sys.path.insert(0, str(DS_PLUGIN))
    module = importlib.import_module("nasgen_ds_block")
    for descriptor in module.nasgen_block_kinds():
        register_block_kind(descriptor, owner="ds")
    yield
    unregister_stage_kind("ds")
    sys.path.remove(str(DS_PLUGIN))
