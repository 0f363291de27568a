"""Scale-out on shared storages, live: JournalStorage always, PostgreSQL when a server is reachable.

``.ci/run`` starts a throwaway PostgreSQL on 127.0.0.1 (``scripts/pg_test_server.sh``) and exports
``NASGEN_TEST_POSTGRES_URL``; without it the PostgreSQL cases skip, saying why. Each PostgreSQL test gets a fresh
database, so schema creation itself is under test.
"""

from __future__ import annotations

import collections
import csv
import os
import signal
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
from nasgen.runs.storage import open_storage
from nasgen.space import dump_space
from nasgen.units import format_count

HERE = Path(__file__).parent
BUDGET = 1_000_000


@pytest.fixture(params=["journal", "postgresql"])
def shared_url(request, tmp_path):
    """A storage URL nobody has used yet: a journal file, or a new PostgreSQL database."""
    if request.param == "journal":
        return f"journal://{tmp_path / 'shared' / 'study.log'}"
    return request.getfixturevalue("postgres_database")


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), **extra}


def _load(url: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(url, shared=False))


def _evaluations(log: Path) -> collections.Counter:
    return collections.Counter(line.split()[1] for line in log.read_text().splitlines() if line.strip())


START_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from nasgen.search import search
    from nasgen.space import load_space
    from scaleout_helpers import macs_score

    url, out, barrier = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    space = load_space(sys.argv[4])
    (barrier / out.replace("/", "_")).touch()  # past its imports
    deadline = time.time() + 240
    while len(list(barrier.iterdir())) < 8 and time.time() < deadline:  # every process past its imports:
        time.sleep(0.01)  # the starts really are simultaneous
    search(1_000_000, space=space, objective=macs_score, n_trials=8, seed=0, out=out, storage=url,
           study_name="eight", timeout=None)
    """
)


@pytest.mark.slow
def test_eight_simultaneous_starts_on_an_empty_storage_all_succeed(shared_url, space, tmp_path):
    space_file = tmp_path / "tiny.yaml"
    space_file.write_text(dump_space(space))
    barrier = tmp_path / "ready"  # each process adds a file there once imported, and starts when all 8 have
    barrier.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", START_SCRIPT, shared_url, str(tmp_path / f"run{i}"), str(barrier), str(space_file)],
            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for i in range(8)
    ]
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    crashed = [(i, out.strip().splitlines()[-1:]) for i, (proc, out) in enumerate(zip(procs, outputs)) if proc.returncode]
    assert crashed == []
    trials = _load(shared_url, "eight").trials
    assert [t.number for t in trials] == list(range(len(trials)))  # no duplicate numbers, none missing
    assert not [t.number for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert 8 <= sum(t.state.is_finished() for t in trials) <= 8 + 7  # each stops at 8; in-flight ones finish


def test_four_workers_lose_nothing_and_never_evaluate_an_architecture_twice(shared_url, space, tmp_path, monkeypatch):
    log = tmp_path / "evaluations.log"
    monkeypatch.setenv("NASGEN_TEST_LOG", str(log))
    sys.path.insert(0, str(HERE))
    from scaleout_helpers import sleepy_macs_score

    result = search(
        BUDGET, space=space, objective=sleepy_macs_score, n_trials=24, seed=0, out=tmp_path / "run",
        storage=shared_url, study_name="four", timeout=None, workers=4, threads_per_worker=1,
    )
    trials = result.study.trials
    evaluated = _evaluations(log)
    assert [t.number for t in trials] == list(range(len(trials)))
    assert collections.Counter(t.state for t in trials)[TrialState.RUNNING] == 0
    assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials) >= 24
    assert max(evaluated.values()) == 1, evaluated.most_common(3)  # 0 architectures evaluated twice
    pids = {t.user_attrs["pid"] for t in trials if "pid" in t.user_attrs}
    assert len(pids) == 4  # four processes shared the work
    # every evaluation is in the study, once, with its own score (0 lost)
    scored = {t.user_attrs["hash"]: t.value for t in trials if t.state == TrialState.COMPLETE
              and t.user_attrs.get("reused_from") is None}
    assert set(scored) == set(evaluated)
    best = max(scored.values())
    assert result.best_value == best and count_cost(result.best_spec).macs / 1e6 == best
    rows = list(csv.DictReader((tmp_path / "run" / "leaderboard.csv").open()))
    assert len({row["hash"] for row in rows}) == len(rows) and float(rows[0]["val_top1"]) == best  # each arch once


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from nasgen.search import search
    from nasgen.space import load_space
    from scaleout_helpers import hang_on_third_score

    search(1_000_000, space=load_space(sys.argv[3]), objective=hang_on_third_score, n_trials=60, seed=0,
           out=sys.argv[2], storage=sys.argv[1], study_name="kill", timeout=None, workers=2, threads_per_worker=1,
           heartbeat_interval=1, heartbeat_grace=3)
    """
)


@pytest.mark.slow
def test_a_worker_killed_mid_trial_has_its_trial_failed_with_a_reason_and_retried(shared_url, space, tmp_path):
    space_file = tmp_path / "tiny.yaml"
    space_file.write_text(dump_space(space))
    marker = tmp_path / "hung"
    env = _env(NASGEN_TEST_HANG_MARKER=str(marker), NASGEN_TEST_LOG=str(tmp_path / "evaluations.log"))
    parent = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, shared_url, str(tmp_path / "run"), str(space_file)],
                              env=env)
    try:
        deadline = time.monotonic() + 240
        while not marker.exists() or not marker.read_text():
            assert time.monotonic() < deadline and parent.poll() is None, "no worker reached its third trial"
            time.sleep(0.1)
        pid, killed_hash = marker.read_text().split()
        os.kill(int(pid), signal.SIGKILL)
        assert parent.wait(timeout=300) == 0
    finally:
        if parent.poll() is None:
            parent.kill()
    trials = _load(shared_url, "kill").trials
    killed = [t for t in trials if t.user_attrs.get("pid") == int(pid) and t.state == TrialState.FAIL]
    assert len(killed) == 1 and killed[0].user_attrs["hash"] == killed_hash
    assert killed[0].user_attrs["error"].startswith("no heartbeat for more than 3 s (worker killed, hung or cut off)")
    retries = [t for t in trials if t.user_attrs.get("retry_of") == killed[0].number]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].params == killed[0].params and retries[0].user_attrs["pid"] != int(pid)
    assert not [t.number for t in trials if t.state == TrialState.RUNNING]
    assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials) >= 60  # nothing completed lost
    assert max(_evaluations(tmp_path / "evaluations.log").values()) == 1


def test_workers_propose_what_one_process_proposes_for_the_same_study_seed(shared_url, space, tmp_path):
    sys.path.insert(0, str(HERE))
    from scaleout_helpers import macs_score

    common = {"space": space, "objective": macs_score, "n_trials": 16, "seed": 3, "sampler": "random",
              "timeout": None, "storage": shared_url}
    alone = search(BUDGET, out=tmp_path / "one", study_name="one", workers=1, **common)
    shared = search(BUDGET, out=tmp_path / "three", study_name="three", workers=3, threads_per_worker=1, **common)
    # the random sampler's proposal for trial n depends on (study seed, n) only, whichever worker runs it
    params = [t.params for t in alone.study.trials if t.number < 16]
    assert [t.params for t in shared.study.trials if t.number < 16] == params
    assert len({str(sorted(p.items())) for p in params}) > 8  # and the proposals differ from trial to trial


CTRL_C_SCRIPT = textwrap.dedent(
    """
    import signal
    import sys
    # Ctrl-C raises KeyboardInterrupt, as in a terminal, even when the test run was started in the background by a
    # shell without job control: SIGINT is then ignored and the ignoring inherited (the search ran to its end).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from nasgen.search import search
    from nasgen.space import load_space
    from scaleout_helpers import sleepy_macs_score

    search(1_000_000, space=load_space(sys.argv[2]), objective=sleepy_macs_score, n_trials=200, seed=0,
           out=sys.argv[1], timeout=None, workers=2, threads_per_worker=1)
    """
)


@pytest.mark.slow
def test_ctrl_c_stops_every_worker_and_the_parent_writes_the_outputs(space, tmp_path):
    space_file = tmp_path / "tiny.yaml"
    space_file.write_text(dump_space(space))
    out = tmp_path / "run"
    log = tmp_path / "evaluations.log"
    env = _env(NASGEN_TEST_SLEEP_S="1.0", NASGEN_TEST_LOG=str(log))
    parent = subprocess.Popen([sys.executable, "-c", CTRL_C_SCRIPT, str(out), str(space_file)], env=env)
    try:
        deadline = time.monotonic() + 240
        while not log.exists() or len({line.split()[0] for line in log.read_text().splitlines()}) < 2:
            assert time.monotonic() < deadline and parent.poll() is None, "the workers never got going"
            time.sleep(0.2)
        parent.send_signal(signal.SIGINT)
        parent.wait(timeout=60)
    finally:
        if parent.poll() is None:
            parent.kill()
    assert parent.returncode != 0
    worker_pids = {int(line.split()[0]) for line in log.read_text().splitlines()}
    assert len(worker_pids) == 2
    for pid in worker_pids:  # every worker has exited
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    study = _load(f"journal://{out / 'study.log'}", "tiny-1M")
    assert not [t.number for t in study.trials if t.state == TrialState.RUNNING]
    interrupted = [t for t in study.trials if t.state == TrialState.FAIL]
    # a worker signalled mid-trial fails it as interrupted; one signalled between trials just stops
    assert len(interrupted) <= 2 and all(t.user_attrs.get("interrupted") or "killed" in t.user_attrs.get(
        "error", "") for t in interrupted)
    rows = list(csv.DictReader((out / "leaderboard.csv").open()))
    assert len(rows) == len(set(_evaluations(log)) - {t.user_attrs.get("hash") for t in interrupted})
    # the same command resumes: the interrupted trials are retried first
    from scaleout_helpers import macs_score

    again = search(1_000_000, space=space_file, objective=macs_score, n_trials=len(study.trials) + 1, seed=0,
                   out=out, timeout=None, workers=2, threads_per_worker=1)
    assert sorted(again.requeued) == sorted(t.number for t in interrupted)
    retried = {t.user_attrs.get("retry_of") for t in again.study.trials if t.state == TrialState.COMPLETE}
    assert {t.number for t in interrupted} <= retried


def test_machines_with_their_own_run_directories_write_the_same_outputs(shared_url, space, tmp_path):
    sys.path.insert(0, str(HERE))
    from scaleout_helpers import macs_score

    common = {"space": space, "objective": macs_score, "seed": 0, "timeout": None, "storage": shared_url,
              "study_name": "m"}
    search(BUDGET, out=tmp_path / "a", n_trials=6, **common)
    search(BUDGET, out=tmp_path / "b", n_trials=12, **common)  # the second machine continues the study
    search(BUDGET, out=tmp_path / "a", n_trials=12, **common)  # the first one, already done, rewrites its outputs
    for name in ("best.yaml", "leaderboard.csv"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    files = {p.relative_to(tmp_path / "a"): p.read_text() for p in (tmp_path / "a").glob("trials/*/arch.yaml")}
    assert len(files) == len(_load(shared_url, "m").trials) >= 12
    assert files == {p.relative_to(tmp_path / "b"): p.read_text() for p in (tmp_path / "b").glob("trials/*/arch.yaml")}


def test_the_data_is_identified_by_content_not_path(space, tmp_path):
    import shutil

    import numpy as np

    from nasgen.data import load_dataset
    from nasgen.data import fingerprint as data_fingerprint

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(40, 16, 16, 1), dtype=np.uint8)
    labels = np.repeat(np.arange(4), 10)
    np.savez(tmp_path / "a.npz", images=images, labels=labels)
    (tmp_path / "elsewhere").mkdir()
    shutil.copy(tmp_path / "a.npz", tmp_path / "elsewhere" / "b.npz")
    images[39, 0, 0, 0] ^= 1
    np.savez(tmp_path / "c.npz", images=images, labels=labels)
    a, b, c = (load_dataset(tmp_path / p) for p in ("a.npz", "elsewhere/b.npz", "c.npz"))
    assert data_fingerprint(a) == data_fingerprint(b)
    assert data_fingerprint(a).startswith("40 images 16x16x1, 4 classes, sha256 ")
    assert data_fingerprint(a) != data_fingerprint(c)  # one bit of the last image


def test_a_workers_run_directory_and_a_storage_url_open_as_runs(space, tmp_path):
    from nasgen.exporting import export
    from nasgen.search import open_run
    from nasgen.spec import load_spec

    sys.path.insert(0, str(HERE))
    from scaleout_helpers import macs_score

    out = tmp_path / "run"
    result = search(BUDGET, space=space, objective=macs_score, n_trials=8, seed=0, out=out, timeout=None,
                    workers=2, threads_per_worker=1)
    assert (out / "study.log").is_file() and not (out / "study.db").exists()
    for run in (open_run(out), open_run(f"journal://{out / 'study.log'}")):
        assert run.best().number == result.best_trial
        assert run.best().spec() == load_spec(out / "best.yaml") == result.best_spec
    exported = export(out, tmp_path / "export", formats=["arch"])
    assert load_spec(exported.paths["arch"]) == result.best_spec


def test_what_worker_processes_cannot_receive_is_refused_before_anything_runs(space, tmp_path):
    from nasgen.errors import SearchError

    with pytest.raises(SearchError, match=r"objective: with workers > 1 the stand-in scorer must be importable"):
        search(BUDGET, space=space, objective=lambda spec: 1.0, out=tmp_path / "a", workers=2)
    sys.path.insert(0, str(HERE))
    from scaleout_helpers import macs_score

    with pytest.raises(SearchError, match=r"callbacks: Optuna callbacks cannot follow trials run by worker processes"):
        search(BUDGET, space=space, objective=macs_score, out=tmp_path / "b", workers=2,
               callbacks=[lambda study, trial: None])
    with pytest.raises(SearchError, match=r"worker processes need a storage URL they can open, not a storage object"):
        search(BUDGET, space=space, objective=macs_score, out=tmp_path / "c", workers=2,
               storage=optuna.storages.InMemoryStorage())
    assert not any((tmp_path / name).exists() for name in "abc")


def test_the_parent_prints_one_line_per_finished_trial_naming_its_worker(space, tmp_path):
    import io

    from rich.console import Console

    sys.path.insert(0, str(HERE))
    from scaleout_helpers import sleepy_macs_score

    buffer = io.StringIO()
    result = search(BUDGET, space=space, objective=sleepy_macs_score, n_trials=10, seed=0, out=tmp_path / "run",
                    timeout=None, workers=2, threads_per_worker=1, console=Console(file=buffer, width=200))
    lines = [line for line in buffer.getvalue().splitlines() if line.startswith("trial ")]
    assert buffer.getvalue().startswith("workers: 2 on cpu, 1 thread(s) each; logs in ")
    assert sorted(int(line.split()[1]) for line in lines) == [t.number for t in result.study.trials]
    assert {line.split("[")[1].split("]")[0] for line in lines} == {"worker 0", "worker 1"}
    best = next(line for line in lines if line.startswith(f"trial {result.best_trial} "))
    assert f"complete {100 * result.best_value:.2f}%, {format_count(count_cost(result.best_spec).macs)} MACs" in best


RESTART_SCRIPT = textwrap.dedent(
    """
    import sys
    from nasgen.search import search
    from nasgen.space import load_space
    from scaleout_helpers import hang_on_third_score

    search(1_000_000, space=load_space(sys.argv[3]), objective=hang_on_third_score, n_trials=6, seed=0,
           out=sys.argv[2], storage=sys.argv[1], study_name="restart", timeout=None)
    """
)


@pytest.mark.slow
def test_a_worker_restarted_at_once_retries_its_killed_trial_without_waiting_for_the_grace(
    shared_url, space, tmp_path
):
    space_file = tmp_path / "tiny.yaml"
    space_file.write_text(dump_space(space))
    marker = tmp_path / "hung"
    env = _env(NASGEN_TEST_HANG_MARKER=str(marker), NASGEN_TEST_SLEEP_S="0")
    proc = subprocess.Popen([sys.executable, "-c", RESTART_SCRIPT, shared_url, str(tmp_path / "run"), str(space_file)],
                            env=env)
    try:
        deadline = time.monotonic() + 240
        while not marker.exists() or not marker.read_text():
            assert time.monotonic() < deadline and proc.poll() is None, "the search never reached its third trial"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    sys.path.insert(0, str(HERE))
    from scaleout_helpers import macs_score

    started = time.monotonic()
    result = search(BUDGET, space=space_file, objective=macs_score, n_trials=6, seed=0, out=tmp_path / "run",
                    storage=shared_url, study_name="restart", timeout=None)  # default grace: 120 s
    assert time.monotonic() - started < 100
    killed = [t for t in result.study.trials if t.state == TrialState.FAIL]
    assert len(killed) == 1 and result.requeued == [killed[0].number]
    assert killed[0].user_attrs["error"].startswith(f"process killed while the trial ran (pid {proc.pid} on ")
    retry = next(t for t in result.study.trials if t.user_attrs.get("retry_of") == killed[0].number)
    assert retry.state == TrialState.COMPLETE and retry.params == killed[0].params
    assert not [t for t in result.study.trials if t.state == TrialState.RUNNING]


def test_a_stale_trial_is_retried_once_and_a_retry_never_again():
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import create_trial

    from nasgen.runs import retry_allowed

    def failed(number, **attrs):
        trial = create_trial(state=TrialState.FAIL, params={"x": 1}, distributions={"x": CategoricalDistribution([1, 2])},
                             user_attrs=attrs)
        trial.number = number
        return trial

    first, retry, other = failed(0), failed(1, retry_of=0), failed(2)
    assert retry_allowed(first, [first]) and retry_allowed(other, [first, retry, other])
    assert not retry_allowed(first, [first, retry])  # already retried
    assert not retry_allowed(retry, [first, retry])  # a retry that went stale again is not retried a second time
