"""Confirmation and the verdict: statistics on known inputs, recommendation, resume, ties, bad input."""

from __future__ import annotations

import csv
import math

import pytest
from typer.testing import CliRunner

import nasgen.train
from nasgen.cli import app
from nasgen.cost import count_cost
from nasgen.errors import SearchError
from nasgen.search import confirm, open_run, search
from nasgen.runs import LeaderboardRow, tie_note
from nasgen.search.confirm import recommend, student_t_ppf, student_t_sf, summarize, welch_one_sided

BUDGET = 1_000_000


# -- statistics: known inputs → known values (SciPy's, computed independently) -----------------------------
def test_student_t_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    for t, df in ((0.5, 3), (2.1, 4.5), (-1.3, 10), (5.0, 2), (0.0, 7)):
        assert student_t_sf(t, df) == pytest.approx(stats.t.sf(t, df), rel=1e-10, abs=1e-14)
    for q, df in ((0.975, 2), (0.95, 3.7), (0.5, 9), (0.025, 4)):
        assert student_t_ppf(q, df) == pytest.approx(stats.t.ppf(q, df), rel=1e-9, abs=1e-12)


def test_summary_of_known_values():
    s = summarize([1.0, 2.0, 3.0])
    assert (s.n, s.mean, s.sd) == (3, 2.0, 1.0)
    half = 4.302652729749464 / math.sqrt(3)  # t(0.975, 2) · sd / √n
    assert (s.ci_low, s.ci_high) == (pytest.approx(2 - half), pytest.approx(2 + half))
    one = summarize([0.8])
    assert (one.sd, one.ci_low, one.ci_high) == (0.0, 0.8, 0.8)


def test_welch_one_sided_matches_scipy_and_degenerate_cases():
    stats = pytest.importorskip("scipy.stats")
    cases = [([0.86, 0.85, 0.87], [0.84, 0.86, 0.85]), ([0.9, 0.91], [0.7, 0.72, 0.71, 0.69]), ([1, 2, 3], [3, 4, 5])]
    for a, b in cases:
        expected = stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue
        assert welch_one_sided(a, b) == pytest.approx(expected, rel=1e-9)
    assert welch_one_sided([0.5, 0.5], [0.5, 0.5]) == 0.5
    assert welch_one_sided([0.6, 0.6], [0.5, 0.5]) == 0.0
    with pytest.raises(ValueError, match="at least 2 seeds"):
        welch_one_sided([0.5], [0.4, 0.6])


def test_recommendation_is_the_cheapest_tie_of_the_best():
    scores = {"big": [0.86, 0.85, 0.87], "mid": [0.84, 0.86, 0.85], "small": [0.70, 0.71, 0.69]}
    costs = {"big": 400e6, "mid": 150e6, "small": 50e6}
    chosen, best, p = recommend(scores, costs)
    assert (chosen, best) == ("mid", "big")  # mid: p = 0.144 ≥ 0.05, a tie; small: p ≈ 1e-4, worse
    assert p["big"] == 1.0 and p["mid"] == pytest.approx(0.14393206736334527) and p["small"] < 0.001
    # a clear winner that is also the cheapest is recommended over expensive ties
    chosen, best, _ = recommend({"a": [0.9, 0.91], "b": [0.6, 0.61]}, {"a": 1.0, "b": 2.0})
    assert (chosen, best) == ("a", "a")


# -- confirmation of a search ----------------------------------------------------------------------------
def _macs_score(spec):
    return count_cost(spec).macs / 2e6  # 0.1–0.5 on the tiny space: reads as an accuracy


class SeededScore:
    """Stand-in confirmation: the MACs score plus a seed-dependent wobble; counts calls."""

    def __init__(self, wobble=0.004, stop_after=None):
        self.calls = 0
        self.wobble = wobble
        self.stop_after = stop_after

    def __call__(self, spec, seed):
        if self.stop_after is not None and self.calls >= self.stop_after:
            raise KeyboardInterrupt
        self.calls += 1
        return _macs_score(spec) + self.wobble * (seed - 1)


def _search(space, out, **kwargs):
    return search(BUDGET, space=space, objective=_macs_score, n_trials=15, seed=3, out=out, timeout=None, **kwargs)


def test_confirm_a_stand_in_study_writes_confirm_csv_and_the_recommendation(space, tmp_path):
    result = _search(space, tmp_path)
    score = SeededScore()
    verdict = confirm(tmp_path, top=2, seeds=3, objective=score)
    assert score.calls == 6 and verdict.seeds == 3 and len(verdict.candidates) == 2
    top2 = [row.trial for row in result.leaderboard[:2]]
    assert sorted(c.record.number for c in verdict.candidates) == sorted(top2)
    best = verdict.best
    assert best.record.number == top2[0] and best.scores == pytest.approx(
        [_macs_score(best.record.spec()) + 0.004 * (s - 1) for s in range(3)]
    )
    rows = list(csv.DictReader((tmp_path / "confirm.csv").open()))
    assert [int(r["trial"]) for r in rows] == [c.record.number for c in verdict.candidates]
    assert float(rows[0]["mean"]) == pytest.approx(best.summary.mean)
    assert float(rows[0]["sd"]) == pytest.approx(0.004)
    assert rows[0]["p_vs_best"] == "1.0" and sum(r["recommended"] == "True" for r in rows) == 1
    header = (tmp_path / "best.yaml").read_text().splitlines()[:2]
    assert header[0].startswith(f"# nasgen confirm, study {result.study.study_name}: recommended ")
    assert header[1] == "# " + verdict.text
    assert open_run(tmp_path).study.user_attrs["recommendation"] == verdict.recommended.record.hash


def test_ties_are_said_as_ties_and_the_cheaper_tie_is_recommended(space, tmp_path):
    _search(space, tmp_path)
    # a large seed wobble: every candidate is within the noise of the best
    verdict = confirm(tmp_path, top=3, seeds=3, objective=SeededScore(wobble=0.2))
    assert all(c.tied for c in verdict.candidates)
    cheapest = min(verdict.candidates, key=lambda c: c.macs)
    assert verdict.recommended is cheapest and verdict.recommended is not verdict.best
    assert f"recommended {cheapest.label}" in verdict.text and "not significantly below the best mean" in verdict.text
    assert "tied with" in verdict.text or len(verdict.candidates) == 2


def test_a_baseline_is_confirmed_and_compared_in_words(space, tmp_path):
    baseline = space.sample(11)
    assert count_cost(baseline).macs <= BUDGET
    from nasgen.spec import save_spec

    path = save_spec(baseline.replace(name="base"), tmp_path / "base.yaml")
    _search(space, tmp_path / "run", enqueue=[path])
    verdict = confirm(tmp_path / "run", top=1, seeds=2, objective=SeededScore())
    labels = {c.label for c in verdict.candidates}
    assert str(path) in labels and any(c.baseline for c in verdict.candidates)
    assert f"of {path}'s MACs" in verdict.text


def test_a_confirmation_killed_half_way_resumes(space, tmp_path):
    _search(space, tmp_path)
    with pytest.raises(KeyboardInterrupt):
        confirm(tmp_path, top=2, seeds=3, objective=SeededScore(stop_after=4))
    again = SeededScore()
    verdict = confirm(tmp_path, top=2, seeds=3, objective=again)
    assert again.calls == 2  # 4 of the 6 results were stored before the interrupt
    assert all(len(c.scores) == 3 for c in verdict.candidates)


def test_search_with_confirm_recommends(space, tmp_path):
    result = _search(space, tmp_path, confirm=2, confirm_seeds=2)
    assert result.confirmation is not None and result.best_spec == result.confirmation.recommended.record.spec()
    assert (tmp_path / "confirm.csv").is_file()


def test_bad_confirmation_requests(space, tmp_path):
    with pytest.raises(SearchError, match="--seeds 1: one seed has no spread"):
        confirm(tmp_path, seeds=1)
    with pytest.raises(SearchError, match=r"--top: must be a positive integer, got 0"):
        confirm(tmp_path, top=0)
    with pytest.raises(SearchError, match="is not a search run directory"):
        confirm(tmp_path)
    search("1G", space=space, objective=_macs_score, n_trials=2, out=tmp_path / "over", timeout=None,
           max_params="1")  # every sample over the params limit
    with pytest.raises(SearchError, match=r"has no feasible, evaluated trial to confirm \(2 infeasible\)"):
        confirm(tmp_path / "over", objective=SeededScore())
    _search(space, tmp_path / "standin")
    with pytest.raises(SearchError, match="scored by a stand-in objective"):
        confirm(tmp_path / "standin")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--top", "0"], "error: --top: must be a positive integer, got 0"),
        (["--seeds", "1"], "error: --seeds 1: one seed has no spread"),
    ],
)
def test_cli_bad_input_is_one_error_line(tmp_path, args, message):
    result = CliRunner().invoke(app, ["confirm", str(tmp_path), *args])
    assert result.exit_code == 2 and result.output.startswith(message) and result.output.count("\n") == 1


def test_cli_on_a_folder_that_is_not_a_run(tmp_path):
    result = CliRunner().invoke(app, ["confirm", str(tmp_path)])
    assert result.exit_code == 2 and "is not a search run directory" in result.output


class FakeProxy:
    """``nasgen.train.evaluate_proxy`` stand-in whose score depends on MACs and seed."""

    def __call__(self, spec, data, config, *, seed, on_epoch=None):
        value = _macs_score(spec) + 0.05 * seed
        for epoch in range(config.epochs):
            if on_epoch is not None:
                on_epoch(epoch, value)
        return nasgen.train.TrainResult(val_top1=value, val_loss=1.0, epochs=config.epochs, train_seconds=0.1,
                                        images_per_second=1.0, device="cpu")


def test_cli_confirm_of_a_proxy_search_shows_ties_as_ties(space, tmp_path, monkeypatch):
    monkeypatch.setattr(nasgen.train, "evaluate_proxy", FakeProxy())
    monkeypatch.setattr(nasgen.train, "estimate_proxy_seconds", lambda *a, **k: None)
    search(BUDGET, space=space, n_trials=8, seed=0, out=tmp_path, epochs=1, pruner="none", timeout=None)
    result = CliRunner().invoke(app, ["confirm", str(tmp_path), "--top", "2", "--seeds", "3"])
    assert result.exit_code == 0, result.output
    assert "tie, best mean" in result.output or "tie, recommended" in result.output
    assert "one-sided Welch t-test at 5 %" in result.output
    rows = list(csv.DictReader((tmp_path / "confirm.csv").open()))
    assert {r["tied_with_best"] for r in rows} == {"True"}  # sd 5 points: every difference is within the noise
    assert all(float(r["sd"]) == pytest.approx(0.05) for r in rows)


def _row(rank, value):
    return LeaderboardRow(rank=rank, trial=rank, display="", params=1, macs=1, val_top1=value, train_seconds=1.0,
                          hash=str(rank))


def test_leaderboard_ties_without_confirmation():
    rows = [_row(1, 0.853), _row(2, 0.840), _row(3, 0.80)]
    note = tie_note(rows, {})
    assert "was not measured for this study (B0 on the embedded data: 1.59 points" in note
    assert "ranks 1–2 (2 architectures) are within 4.41 points (1.96·√2 sd) of the first: a tie" in note
    measured = tie_note(rows, {"proxy_noise_sd": 0.002, "proxy_noise_trial": 0, "proxy_noise_seeds": 3})
    assert "measured on trial 0 with 3 seeds" in measured and "no other row is within 0.55 points" in measured
    assert tie_note(rows[:1], {}) is None
