"""Forward passes of the timm interop tests run on one intra-op thread (the shared CI machine), restored after
each test. Every module here skips itself, saying why, when timm (the ``test`` extra) is not installed."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

