"""A search process killed with SIGKILL while a trial runs; the next run resumes without losing a trial."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from nasgen.cost import count_cost
from nasgen.search import search
from nasgen.space import dump_space

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from nasgen.cost import count_cost
    from nasgen.search import search
    from nasgen.space import load_space

    calls = []

    def score(spec):
        calls.append(spec)
        if len(calls) == 3:
            time.sleep(600)  # killed here, with trial 2 RUNNING
        return count_cost(spec).macs / 1e6

    search("10M", space=load_space(sys.argv[1]), objective=score, n_trials=6, seed=0, out=sys.argv[2])
    """
)


def _wait_for_running(db: Path, timeout: float = 120.0) -> None:
    # Read the SQLite file read-only: opening it through Optuna would create (stamp) the schema and race
    # with the search process doing the same.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if not db.exists():
            continue
        try:
            with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
                rows = conn.execute("SELECT t.state, (SELECT COUNT(*) FROM trial_params p WHERE p.trial_id = "
                                    "t.trial_id) FROM trials t").fetchall()  # fmt: skip
        except sqlite3.Error:
            continue  # schema not created yet, or the file is being written
        # mid trial: the third one running with its sampled parameters written (killed while it is still being
        # sampled, it would hold none, and its retry is a new sample)
        states = [state for state, _ in rows]
        if states.count("COMPLETE") == 2 and any(state == "RUNNING" and n > 0 for state, n in rows):
            return
    raise AssertionError("the search never reached its third trial")


@pytest.mark.slow
def test_sigkill_mid_trial_then_resume(space, tmp_path):
    space_file = tmp_path / "tiny.yaml"
    space_file.write_text(dump_space(space))
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(space_file), str(out)], env=env)
    try:
        _wait_for_running(out / "study.db")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    study = optuna.load_study(study_name="tiny-10M", storage=f"sqlite:///{out / 'study.db'}")
    done = {t.number: t.value for t in study.trials if t.state == TrialState.COMPLETE}
    running = next(t for t in study.trials if t.state == TrialState.RUNNING)

    result = search("10M", space=space_file, objective=lambda s: count_cost(s).macs / 1e6, n_trials=6, seed=0, out=out)
    trials = result.study.trials
    assert {n: trials[n].value for n in done} == done  # no completed trial lost
    assert trials[running.number].state == TrialState.FAIL
    assert trials[running.number].user_attrs["error"] == "process killed while the trial ran"
    retry = next(t for t in trials if t.user_attrs.get("retry_of") == running.number)
    assert retry.params == running.params and retry.state == TrialState.COMPLETE
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 6
