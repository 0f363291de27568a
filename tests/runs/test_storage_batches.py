"""nasgen's storages against Optuna's: the same trials read back, fewer writes (issue 15, storage overhead).

The RDB storage reads a trial in two statements (Optuna's ORM: six) and writes a trial's sampled parameters
together with its spec attributes; the journal storage appends them together. These tests check that what
comes back is exactly what Optuna's own storage returns for the same rows, and that the batching holds in a
real search. SQLite and the journal always run; PostgreSQL when the test server is up (``.ci/run``).
"""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.study import StudyDirection
from optuna.trial import TrialState

from nasgen.search import open_run, search
from nasgen.runs.storage import open_storage

BUDGET = 1_000_000


def _score(spec):
    from nasgen.cost import count_cost

    return count_cost(spec).macs / 1e6


@pytest.fixture(params=["sqlite", "postgresql"])
def rdb_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return request.getfixturevalue("postgres_database")


def _comparable(trial: optuna.trial.FrozenTrial) -> dict:
    fields = dict(trial.__dict__)
    fields["intermediate_values"] = {  # NaN != NaN: compare it as a marker
        step: "nan" if math.isnan(v) else v for step, v in trial.intermediate_values.items()
    }
    return fields


def _fill(storage, study_id: int) -> list[int]:
    """Three trials with every kind of field: COMPLETE finite values, COMPLETE infinite ones, RUNNING."""
    ids = []
    for values in ([0.5, 2.0], [math.inf, -math.inf], None):
        tid = storage.create_new_trial(study_id)
        storage.set_trial_param(tid, "kind", 1, CategoricalDistribution(["mbconv", "fused", None]))
        storage.set_trial_param(tid, "lr", 0.25, FloatDistribution(0.0, 1.0))
        with storage.defer_params(tid):
            storage.set_trial_param(tid, "width", 24, IntDistribution(16, 32, step=8))
            storage.set_trial_user_attrs(tid, {"spec": "name: x\n", "macs": 123_456, "nested": [1, {"a": None}]})
        storage.set_trial_user_attrs(tid, {"macs": 654_321, "device": "cpu"})  # one key overwritten
        storage.set_trial_system_attr(tid, "constraints", [0.0, -1.5])
        for step, value in enumerate([0.5, math.nan, math.inf, -math.inf]):
            storage.set_trial_intermediate_value(tid, step, value)
        if values is not None:
            storage.set_trial_state_values(tid, TrialState.COMPLETE, values)
        ids.append(tid)
    return ids


def test_reads_build_exactly_the_trials_optunas_storage_builds(rdb_url):
    ours = open_storage(rdb_url, shared=True)
    plain = optuna.storages.RDBStorage(rdb_url)
    study_id = ours.create_new_study([StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE], "read-back")
    ids = _fill(ours, study_id)

    mine, theirs = ours.get_all_trials(study_id, deepcopy=False), plain.get_all_trials(study_id, deepcopy=False)
    assert [_comparable(t) for t in mine] == [_comparable(t) for t in theirs]
    assert [list(t.params) for t in mine] == [["kind", "lr", "width"]] * 3  # the order they were sampled in
    assert mine[0].params == {"kind": "fused", "lr": 0.25, "width": 24}
    assert mine[0].user_attrs == {"spec": "name: x\n", "macs": 654_321, "nested": [1, {"a": None}], "device": "cpu"}
    assert mine[1].values == [math.inf, -math.inf] and mine[2].values is None
    assert mine[0].intermediate_values[2] == math.inf and math.isnan(mine[0].intermediate_values[1])
    for tid in ids:
        assert _comparable(ours.get_trial(tid)) == _comparable(plain.get_trial(tid))

    # the filters Optuna's trial cache uses: by state, and "after the last finished one, or still running"
    running = ours.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))
    assert [t._trial_id for t in running] == [ids[2]]
    newer = ours._get_trials(study_id, None, {ids[0]}, ids[1])
    assert [t._trial_id for t in newer] == [ids[0], ids[2]]
    assert ours._get_trials(study_id, None, set(), ids[2]) == []

    with pytest.raises(KeyError):
        ours.get_trial(10**9)
    with pytest.raises(KeyError):
        ours.get_all_trials(10**9)
    empty = ours.create_new_study([StudyDirection.MAXIMIZE], "empty")
    assert ours.get_all_trials(empty) == []


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_held_back_parameters_obey_optunas_rules(kind, tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}" if kind == "sqlite" else f"journal://{tmp_path / 's.log'}"
    storage = open_storage(url, shared=False)
    study_id = storage.create_new_study([StudyDirection.MAXIMIZE], "rules")
    first = storage.create_new_trial(study_id)
    storage.set_trial_param(first, "width", 24, IntDistribution(16, 32, step=8))
    second = storage.create_new_trial(study_id)
    # a parameter whose distribution conflicts with the study's is refused when the batch is written
    with pytest.raises(ValueError), storage.defer_params(second):
        storage.set_trial_param(second, "width", 1, CategoricalDistribution(["a", "b"]))
    # parameters left when the block ends without an attribute write are written then
    third = storage.create_new_trial(study_id)
    with storage.defer_params(third):
        storage.set_trial_param(third, "width", 32, IntDistribution(16, 32, step=8))
        assert storage.get_trial(third).params == {}  # held back
    assert storage.get_trial(third).params == {"width": 32}
    # a trial that fails while sampling keeps what it sampled, and its own error
    fourth = storage.create_new_trial(study_id)
    with pytest.raises(RuntimeError, match="freeze failed"), storage.defer_params(fourth):
        storage.set_trial_param(fourth, "width", 16, IntDistribution(16, 32, step=8))
        raise RuntimeError("freeze failed")
    assert storage.get_trial(fourth).params == {"width": 16}
    # a finished trial takes no more writes, batched or not
    storage.set_trial_state_values(third, TrialState.COMPLETE, [1.0])
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        storage.set_trial_user_attrs(third, {"a": 1, "b": 2})


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_search_writes_each_trials_parameters_with_its_spec(kind, space, tmp_path, monkeypatch):
    # Optuna's one-parameter-per-write path must not be taken; what the batches wrote must read back.
    single: list[str] = []
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'study.db'}"
        original = optuna.storages.RDBStorage._set_trial_param_without_commit

        def counting(self, session, trial_id, name, *args, **kwargs):
            single.append(name)
            return original(self, session, trial_id, name, *args, **kwargs)

        monkeypatch.setattr(optuna.storages.RDBStorage, "_set_trial_param_without_commit", counting)
    else:
        url = f"journal://{tmp_path / 'study.log'}"
        original = optuna.storages.JournalStorage.set_trial_param

        def counting(self, trial_id, name, *args, **kwargs):
            single.append(name)
            return original(self, trial_id, name, *args, **kwargs)

        monkeypatch.setattr(optuna.storages.JournalStorage, "set_trial_param", counting)
    result = search(BUDGET, space=space, objective=_score, n_trials=6, seed=3, out=tmp_path / "run", timeout=None,
                    storage=url)
    assert single == []
    trials = result.study.trials
    assert len(trials) == 6 and all(len(t.params) >= 6 for t in trials)
    for trial, record in zip(trials, open_run(url).records(), strict=True):
        # the stored parameters freeze to the stored spec: nothing was lost or mixed between trials
        assert space.freeze(trial.params).content_hash() == record.spec().content_hash()


def test_a_missing_mysql_driver_names_the_package_that_provides_it():
    pytest.importorskip("sqlalchemy")
    try:
        import MySQLdb  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("MySQLdb is installed here")
    from nasgen.errors import SearchError

    with pytest.raises(SearchError, match=r"the Python module 'MySQLdb', is not installed; pip install 'mysqlclient'"):
        open_storage("mysql://u@127.0.0.1/db", shared=False)
