"""Export tests run their forward passes on one intra-op thread: on the shared 2-core CI machine two
spinning threads per process were ~10x slower than one. The setting is restored after each test."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
