"""Shared fixtures of the cost tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def torch_one_thread() -> Iterator[None]:
    """Run torch on one thread in this module and restore the setting after.

    The CI machine's two cores are shared by several test processes; with torch's default thread pool
    the many tiny convolutions of the cross-checks spend their time oversubscribed (about 30x slower).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
