"""End-to-end searches with a stand-in scorer on a tiny space (96 architectures, 207K–1.66M MACs)."""

from __future__ import annotations

import csv

import optuna
import pytest
from optuna.trial import TrialState

from nasgen.cost import count_cost
from nasgen.errors import BudgetError, SearchError
from nasgen.runs import LEADERBOARD_FIELDS
from nasgen.search import search
from nasgen.runs import RunLock
from nasgen.space import Fixed, SearchSpace
from nasgen.spec import loads_spec, save_spec

BUDGET = 1_000_000  # between the tiny space's smallest (207,104) and largest (1,664,384) MACs


class Spy:
    """Stand-in scorer that remembers every spec it scored; score = MACs in millions."""

    def __init__(self, fail_on=None, exc=None):
        self.seen = []
        self.fail_on = fail_on
        self.exc = exc

    def __call__(self, spec):
        self.seen.append(spec)
        if self.fail_on is not None and self.fail_on(spec, len(self.seen)):
            raise self.exc
        return count_cost(spec).macs / 1e6


def test_search_finds_the_largest_feasible_architecture_and_writes_outputs(space, tmp_path):
    spy = Spy()
    result = search(BUDGET, space=space, objective=spy, n_trials=25, seed=0, out=tmp_path, timeout=None)
    feasible = [t for t in result.study.trials if t.user_attrs.get("feasible")]
    assert result.best_spec is not None and count_cost(result.best_spec).macs <= BUDGET
    assert result.best_value == max(t.user_attrs["val_top1"] for t in feasible)
    # outputs: study.db, best.yaml equal to the best spec, leaderboard ranked and one row per architecture
    assert (tmp_path / "study.db").exists()
    assert loads_spec((tmp_path / "best.yaml").read_text()) == result.best_spec
    rows = list(csv.DictReader((tmp_path / "leaderboard.csv").open()))
    assert tuple(rows[0]) == LEADERBOARD_FIELDS
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    assert [float(r["val_top1"]) for r in rows] == sorted((float(r["val_top1"]) for r in rows), reverse=True)
    assert len({r["hash"] for r in rows}) == len(rows)
    assert int(rows[0]["macs"]) == count_cost(result.best_spec).macs
    for trial in result.study.trials:
        assert (tmp_path / "trials" / str(trial.number) / "arch.yaml").read_text() == trial.user_attrs["spec_yaml"]
        assert {"hash", "display", "params", "macs", "activation_bytes", "seed", "feasible"} <= set(trial.user_attrs)


def test_infeasible_samples_are_recorded_with_constraints_and_never_scored(space, tmp_path):
    spy = Spy()
    result = search(BUDGET, space=space, objective=spy, n_trials=20, seed=1, out=tmp_path, timeout=None)
    infeasible = [t for t in result.study.trials if t.user_attrs.get("feasible") is False]
    assert infeasible, "the budget should exclude part of the space"
    scored = {spec.content_hash() for spec in spy.seen}
    for trial in infeasible:
        # stored PRUNED without a value (no -inf in Optuna's plots), its constraints telling samplers why
        assert trial.state == TrialState.PRUNED and trial.values is None and trial.intermediate_values == {}
        assert trial.user_attrs["macs"] > BUDGET
        assert trial.constraints["macs"] == pytest.approx(trial.user_attrs["macs"] / BUDGET - 1)
        assert trial.user_attrs["infeasible"].startswith("MACs ")
        assert trial.user_attrs["hash"] not in scored
    assert all(count_cost(spec).macs <= BUDGET for spec in spy.seen)
    assert result.study.best_trial.constraints["macs"] <= 0  # Optuna's own best respects the constraint


def test_budget_nothing_meets_fails_before_any_trial(space, tmp_path):
    spy = Spy()
    with pytest.raises(BudgetError, match=r"budget 100.0K MACs \(100,000\) is below the smallest architecture"):
        search("100K", space=space, objective=spy, out=tmp_path)
    assert spy.seen == [] and not (tmp_path / "study.db").exists()


def test_max_params_is_a_constraint_too(space, tmp_path):
    result = search("10M", space=space, objective=Spy(), n_trials=25, max_params="12K", out=tmp_path, timeout=None)
    for trial in result.study.trials:
        assert (trial.user_attrs["params"] > 12_000) == (trial.user_attrs["feasible"] is False)
        assert "params" in trial.constraints


def test_enqueue_evaluates_known_architectures_first(space, tmp_path):
    known = space.sample(seed=3, num_classes=10, in_channels=1)
    path = save_spec(known, tmp_path / "known.yaml")
    result = search("10M", space=space, objective=Spy(), n_trials=3, enqueue=[str(path)], out=tmp_path / "run")
    first = result.study.trials[0]
    assert first.user_attrs["hash"] == known.content_hash() and first.user_attrs["enqueued"] == str(path)
    again = search("10M", space=space, objective=Spy(), n_trials=5, enqueue=[str(path)], out=tmp_path / "run")
    assert sum(t.user_attrs.get("enqueued") == str(path) for t in again.study.trials) == 1  # not enqueued twice


def test_enqueue_outside_the_space_is_an_error(space, tmp_path):
    with pytest.raises(SearchError, match="enqueue: architecture 'efficientnet-b0' is not in the search space"):
        search("10M", space=space, objective=Spy(), enqueue=["efficientnet-b0"], out=tmp_path)


def test_equal_hash_reuses_the_result(space, tmp_path):
    small = space.model_copy(update={"stages": space.stages[:2], "resolution_px": Fixed(32)})
    small = SearchSpace.model_validate(small.model_dump())  # 2 x 2 x 2 x 2 = 16 architectures
    spy = Spy()
    result = search("10M", space=small, objective=spy, n_trials=24, seed=0, out=tmp_path, timeout=None)
    hashes = [t.user_attrs["hash"] for t in result.study.trials]
    assert len(set(hashes)) < len(hashes), "24 samples from 16 architectures must repeat one"
    assert len(spy.seen) == len(set(hashes))  # each architecture scored once
    for trial in result.study.trials:
        if "reused_from" in trial.user_attrs:
            original = result.study.trials[trial.user_attrs["reused_from"]]
            assert original.user_attrs["hash"] == trial.user_attrs["hash"] and trial.value == original.value


def test_a_failing_trial_is_recorded_and_the_search_goes_on(space, tmp_path):
    spy = Spy(fail_on=lambda spec, n: n == 2, exc=RuntimeError("CUDA out of memory"))
    result = search("10M", space=space, objective=spy, n_trials=6, out=tmp_path, timeout=None)
    failed = [t for t in result.study.trials if t.state == TrialState.FAIL]
    assert len(failed) == 1 and failed[0].user_attrs["error"] == "RuntimeError: CUDA out of memory"
    assert sum(t.state == TrialState.COMPLETE for t in result.study.trials) == 6


def test_systematic_failure_stops_with_the_reason(space, tmp_path):
    from nasgen.errors import TrainError

    spy = Spy(fail_on=lambda spec, n: True, exc=TrainError("loss became NaN at epoch 1"))
    with pytest.raises(SearchError, match="5 trials in a row failed; the last: TrainError: loss became NaN"):
        search("10M", space=space, objective=spy, n_trials=20, out=tmp_path)


def test_ctrl_c_fails_the_running_trial_and_resume_retries_it(space, tmp_path):
    spy = Spy(fail_on=lambda spec, n: n == 3, exc=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        search("10M", space=space, objective=spy, n_trials=6, seed=0, out=tmp_path)
    study = optuna.load_study(study_name="tiny-10M", storage=f"sqlite:///{tmp_path / 'study.db'}")
    interrupted = study.trials[-1]
    assert interrupted.state == TrialState.FAIL and interrupted.user_attrs["interrupted"] is True
    assert (tmp_path / "leaderboard.csv").exists()
    result = search("10M", space=space, objective=Spy(), n_trials=6, seed=0, out=tmp_path)
    assert result.requeued == [interrupted.number]
    retry = next(t for t in result.study.trials if t.user_attrs.get("retry_of") == interrupted.number)
    assert retry.state == TrialState.COMPLETE and retry.params == interrupted.params


def test_resume_keeps_complete_trials_and_retries_a_running_one(space, tmp_path):
    first = search("10M", space=space, objective=Spy(), n_trials=3, seed=0, out=tmp_path)
    kept = {t.number: t.value for t in first.study.trials}
    # a process killed mid-trial leaves the trial RUNNING in the storage
    study = optuna.load_study(study_name="tiny-10M", storage=f"sqlite:///{tmp_path / 'study.db'}")
    from nasgen.search import suggest_params

    zombie = study.ask()
    params = suggest_params(zombie, space)
    assert study.trials[-1].state == TrialState.RUNNING
    result = search("10M", space=space, objective=Spy(), n_trials=5, seed=0, out=tmp_path)
    trials = result.study.trials
    assert {n: trials[n].value for n in kept} == kept
    assert trials[zombie.number].state == TrialState.FAIL
    retry = next(t for t in trials if t.user_attrs.get("retry_of") == zombie.number)
    assert retry.params == params and retry.state == TrialState.COMPLETE
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 5


def test_resume_with_other_settings_is_refused(space, tmp_path):
    search("10M", space=space, objective=Spy(), n_trials=2, out=tmp_path, study_name="s")
    with pytest.raises(SearchError, match=r"study 's' was created with budget_macs=10000000, got 20000000"):
        search("20M", space=space, objective=Spy(), n_trials=2, out=tmp_path, study_name="s")


def test_another_study_in_the_same_run_directory_is_refused(space, tmp_path):
    # Found by a fresh-user check: a second study in one --out overwrote trials/N of the first.
    search("10M", space=space, objective=Spy(), n_trials=2, out=tmp_path)
    before = (tmp_path / "trials" / "1" / "arch.yaml").read_text()
    with pytest.raises(SearchError, match=r"holds study 'tiny-10M', not 'tiny-20M'.*another --out"):
        search("20M", space=space, objective=Spy(), n_trials=2, out=tmp_path)
    with pytest.raises(SearchError, match=r"holds study 'tiny-10M', not 'other'"):
        search("10M", space=space, objective=Spy(), n_trials=2, out=tmp_path, study_name="other")
    assert (tmp_path / "trials" / "1" / "arch.yaml").read_text() == before
    assert (tmp_path / ".nasgen-study").read_text() == "tiny-10M\n"
    assert len(search("10M", space=space, objective=Spy(), n_trials=3, out=tmp_path).study.trials) == 3


def test_a_run_directory_in_use_is_refused(space, tmp_path):
    with RunLock(tmp_path), pytest.raises(SearchError, match="another nasgen search .* is using this run directory"):
        search("10M", space=space, objective=Spy(), n_trials=2, out=tmp_path)


def test_nsga2_gives_a_feasible_pareto_front(space, tmp_path, macs_score):
    result = search(BUDGET, space=space, objective=macs_score, sampler="nsga2", n_trials=20, out=tmp_path)
    assert len(result.study.directions) == 2 and result.pareto
    for number in result.pareto:
        trial = result.study.trials[number]
        assert trial.user_attrs["feasible"] and trial.values[1] == trial.user_attrs["macs"] <= BUDGET


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sampler": "grid"}, "sampler: expected one of tpe, random, nsga2, evolution, got 'grid'"),
        ({"pruner": "asha"}, "pruner: expected one of none, median, hyperband, got 'asha'"),
        ({"n_trials": 0}, "n_trials: must be a positive integer, got 0"),
    ],
)
def test_bad_choices(space, tmp_path, kwargs, message, macs_score):
    with pytest.raises(SearchError, match=message):
        search("10M", space=space, objective=macs_score, out=tmp_path, **kwargs)


def test_nasgen_run_search_after_importing_the_package(space, tmp_path, macs_score):
    import nasgen
    import nasgen.search  # binds the attribute nasgen.search to the package: the entry point is nasgen.run_search

    assert nasgen.run_search is nasgen.search.search
    result = nasgen.run_search("10M", space=space, objective=macs_score, n_trials=2, out=tmp_path)
    assert sum(t.state.name == "COMPLETE" for t in result.study.trials) == 2


def test_search_takes_a_config_and_keyword_overrides(space, tmp_path, macs_score):
    from nasgen.config import SearchConfig

    config = SearchConfig(budget="10M", n_trials=3, timeout=None, seed=0)
    result = search(config=config, space=space, objective=macs_score, out=tmp_path, n_trials=2)  # keyword wins
    assert len(result.study.trials) == 2 and result.study.user_attrs["budget_macs"] == 10_000_000
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_trails'"):
        search("10M", space=space, objective=macs_score, out=tmp_path, n_trails=2)
