"""The run record: TrialRecord states and fields, open_run, the leaderboard order, summary wording."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from nasgen.cost import count_cost
from nasgen.errors import SearchError
from nasgen.search import Run, TrialRecord, open_run, search
from nasgen.runs import LeaderboardRow, near_chance_warning, summary_title
from nasgen.spec import dump_yaml

BUDGET = 1_000_000


def _score(spec):
    return count_cost(spec).macs / 1e6


def test_records_of_a_search_carry_the_facts_of_each_trial(space, tmp_path):
    result = search(BUDGET, space=space, objective=_score, n_trials=20, seed=1, out=tmp_path, timeout=None)
    run = open_run(tmp_path)
    records = run.records()
    assert [r.number for r in records] == [t.number for t in result.study.trials]
    states = {r.state for r in records}
    assert states <= {"complete", "infeasible"} and "infeasible" in states
    for record, trial in zip(records, result.study.trials):
        spec = record.spec()
        cost = count_cost(spec)
        assert (record.macs, record.params, record.hash) == (cost.macs, cost.params, spec.content_hash())
        assert record.resolution_px == spec.resolution_px and record.seed == 1
        assert record.proxy_px is None  # a stand-in score trains nothing
        if record.state == "infeasible":
            assert record.reason.startswith("MACs ") and record.macs > BUDGET and record.val_top1 is None
            assert record.constraints["macs"] == pytest.approx(record.macs / BUDGET - 1)
            assert not record.feasible and not record.scored
        else:
            assert record.val_top1 == pytest.approx(cost.macs / 1e6) and record.macs <= BUDGET
            assert record.wall_seconds is not None and record.wall_seconds >= 0
    # the reader decides "best" once: the same trial the search reported, and best.yaml names it
    assert run.best().number == result.best_trial
    assert [r.number for r in run.leaderboard()] == [row.trial for row in result.leaderboard]
    header = (tmp_path / "best.yaml").read_text().splitlines()[0]
    best = run.best()
    assert header == (
        f"# nasgen search, study {run.name}: trial {best.number}, stand-in score {best.val_top1:g}; "
        f"{_fmt(best.macs)} MACs at {best.resolution_px} px, {_fmt(best.params)} params"
    )


def _fmt(count):
    from nasgen.units import format_count

    return format_count(count)


def _add(study, number_state, spec, attrs, values=None):
    base = {"spec_yaml": dump_yaml(spec), "hash": spec.content_hash(), "display": "x", "macs": 1000 * (1 + len(attrs)),
            "params": 10, "feasible": True}
    base.update(attrs)
    study.add_trial(create_trial(state=number_state, values=values, user_attrs=base))


def test_partial_results_rank_after_complete_ones(tmp_path, space):
    study = optuna.create_study(study_name="r", storage=f"sqlite:///{tmp_path / 'study.db'}", direction="maximize")
    a, b, c = (space.sample(seed) for seed in (1, 2, 3))
    _add(study, TrialState.PRUNED, a, {"partial": True, "val_top1": 0.9, "epochs": 1, "stopped": "time limit"})
    _add(study, TrialState.COMPLETE, b, {"val_top1": 0.7}, values=[0.7])
    _add(study, TrialState.COMPLETE, c, {"val_top1": 0.8}, values=[0.8])
    _add(study, TrialState.PRUNED, c, {"pruned_at_epoch": 0})
    _add(study, TrialState.FAIL, a, {"interrupted": True})
    run = open_run(tmp_path)
    assert [r.state for r in run.records()] == ["partial", "complete", "complete", "pruned", "interrupted"]
    assert [r.number for r in run.leaderboard()] == [2, 1, 0]  # 0.9 partial after 0.8 and 0.7 complete
    assert run.best().number == 2
    assert run.state_counts() == {"complete": 2, "interrupted": 1, "partial": 1, "pruned": 1}
    title = summary_title(study, 400_000_000)
    assert title == ("study r: budget 400.0M MACs — 2 evaluated, 1 partial, 0 infeasible, 1 pruned, 0 failed, "
                     "1 interrupted")


def test_open_run_errors(tmp_path):
    with pytest.raises(SearchError, match="is not a search run directory"):
        open_run(tmp_path)
    (tmp_path / "study.db").write_bytes(b"not sqlite" * 50)
    with pytest.raises(SearchError, match="cannot read the study database"):
        open_run(tmp_path)
    url = f"sqlite:///{tmp_path / 'other.db'}"
    optuna.create_study(study_name="one", storage=url)
    optuna.create_study(study_name="two", storage=url)
    with pytest.raises(SearchError, match=r"several studies \(one, two\); pass the study name"):
        open_run(url)
    assert open_run(url, study_name="two").name == "two"
    with pytest.raises(SearchError, match=r"no study 'three' \(studies: one, two\)"):
        open_run(url, study_name="three")


def test_a_record_of_a_foreign_trial_is_read_best_effort():
    trial = create_trial(state=TrialState.COMPLETE, value=0.3)
    record = TrialRecord.from_trial(trial)
    assert (record.state, record.spec_yaml, record.macs, record.values) == ("complete", None, None, (0.3,))
    assert not record.feasible and not record.scored


def _row(value, proxy_px=32):
    return LeaderboardRow(rank=1, trial=0, display="", params=1, macs=1, val_top1=value, train_seconds=1.0,
                          hash="h", proxy_px=proxy_px)


def test_near_chance_scores_are_flagged_with_likely_causes():
    assert near_chance_warning([_row(0.16)], 10, 3) is None  # 6 points above chance: not flagged
    text = near_chance_warning([_row(0.145, proxy_px=8)], 10, 1)
    assert text.startswith("the best proxy score, 14.50%, is within 5 points of chance (10.00% for 10 classes)")
    assert "too few proxy epochs (1" in text and "too small a proxy input (8 px" in text
    assert near_chance_warning([_row(3.5)], 10, 1) is None  # a stand-in score is not an accuracy
    assert near_chance_warning([], 10, 1) is None


def test_a_budget_above_the_largest_architecture_is_noted(space, tmp_path):
    result = search("1G", space=space, objective=_score, n_trials=3, seed=0, out=tmp_path, timeout=None)
    assert result.notes == [
        "the budget 1.0G MACs is above the largest architecture of the space, 1.7M MACs: every sample is feasible "
        "and the budget does not constrain this search"
    ]
    assert search(BUDGET, space=space, objective=_score, n_trials=3, out=tmp_path / "b", timeout=None).notes == []


def test_run_wraps_a_live_study(space):
    study = optuna.create_study(direction="maximize")
    run = Run(study, "memory")
    assert run.records() == [] and run.best() is None and run.leaderboard() == []


def test_attribute_writes_reach_the_batch_through_optunas_cache(space, tmp_path, monkeypatch):
    # Optuna wraps an RDB storage in its _CachedStorage; the record's several attributes must still go in one
    # write (one commit on PostgreSQL) instead of one per key.
    from nasgen.runs.storage import BatchRDBStorage as _BatchRDBStorage

    batches: list[int] = []
    write = _BatchRDBStorage.set_trial_user_attrs

    def counting(self, trial_id, attrs):
        batches.append(len(attrs))
        write(self, trial_id, attrs)

    monkeypatch.setattr(_BatchRDBStorage, "set_trial_user_attrs", counting)
    result = search(BUDGET, space=space, objective=_score, n_trials=3, seed=1, out=tmp_path, timeout=None,
                    storage=f"sqlite:///{tmp_path / 'study.db'}")
    assert type(result.study._storage).__name__ == "_CachedStorage"
    assert len(batches) >= 3 and max(batches) >= 5
    records = open_run(tmp_path).records()
    assert all(r.spec is not None and r.macs > 0 for r in records)  # what the batches wrote reads back


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads the resident set from /proc (Linux)")
def test_release_heap_gives_freed_memory_back():
    import os

    from nasgen.search.evaluators import release_heap

    def rss_bytes():
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    chunks = [b"x" * (64 * 1024) for _ in range(3000)]  # ≈ 197 MB in heap-sized pieces (below mmap's threshold)
    pin = b"y" * (64 * 1024)  # allocated last: the heap's top cannot shrink by itself
    del chunks
    before = rss_bytes()
    release_heap()
    assert before - rss_bytes() > 100e6, "glibc kept the freed pages"
    assert pin[:1] == b"y"
