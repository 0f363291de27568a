"""Module-level stand-in scorers for worker processes (they are pickled by reference, so they must be importable)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from nasgen.cost import count_cost
from nasgen.spec import ArchSpec


def macs_score(spec: ArchSpec) -> float:
    """Score = MACs in millions (deterministic: the budget is what stops the search)."""
    return count_cost(spec).macs / 1e6


def sleepy_macs_score(spec: ArchSpec) -> float:
    """``macs_score`` after ``$NASGEN_TEST_SLEEP_S`` seconds (default 0.2), logging each evaluation.

    Each call appends ``<pid> <content hash>`` to ``$NASGEN_TEST_LOG`` when set, so a test can count how often
    each architecture was really evaluated, across processes.
    """
    time.sleep(float(os.environ.get("NASGEN_TEST_SLEEP_S", "0.2")))
    log = os.environ.get("NASGEN_TEST_LOG")
    if log:
        with Path(log).open("a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {spec.content_hash()}\n")
    return count_cost(spec).macs / 1e6


def hang_on_third_score(spec: ArchSpec) -> float:
    """``sleepy_macs_score``, but the first process to reach its third call writes its pid to
    ``$NASGEN_TEST_HANG_MARKER`` and sleeps for 10 minutes there (to be killed mid-trial)."""
    hang_on_third_score.calls = getattr(hang_on_third_score, "calls", 0) + 1
    if hang_on_third_score.calls == 3:
        try:
            fd = os.open(os.environ["NASGEN_TEST_HANG_MARKER"], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return sleepy_macs_score(spec)
        os.write(fd, f"{os.getpid()} {spec.content_hash()}".encode())
        os.close(fd)
        time.sleep(600)
    return sleepy_macs_score(spec)
