"""Hardware-aware search: rewards on known inputs, latency / step-time limits recorded like the budget."""

from __future__ import annotations

import math

import pytest
from optuna.trial import TrialState
from typer.testing import CliRunner

from nasgen.cli import app
from nasgen.cost import count_cost
from nasgen.errors import BudgetError, SearchError
from nasgen.search import open_run, search
from nasgen.search.objective import HardwareCost, reward

BUDGET = 1_000_000


def test_rewards_on_known_inputs():
    plain = reward("accuracy", 0.8, macs=1, params=1, values={}, budget_macs=4)
    assert plain.value == 0.8
    mnas = reward("mnasnet", 0.8, macs=200_000_000, params=1, values={}, budget_macs=400_000_000)
    assert mnas.value == pytest.approx(0.8 * 0.5**-0.07) and mnas.parts["macs_ratio"] == 0.5
    assert mnas.value == pytest.approx(0.83977, abs=1e-5)  # half the budget is worth 2^0.07 = +4.97 % (EfficientNet §4)
    lat = reward("mnasnet", 0.8, macs=1, params=1, values={"latency_ms": 10.0}, budget_macs=4, max_latency_ms=5.0)
    assert lat.value == pytest.approx(0.8 * 2**-0.07) and lat.parts["latency_ratio"] == 2.0
    v2 = reward("v2", 0.8, macs=1, params=2_000_000, values={"step_ms": 200.0}, budget_macs=4,
                reference=(100.0, 4_000_000))
    assert v2.value == pytest.approx(0.8 * 2.0**-0.07 * 0.5**-0.05)
    assert (v2.parts["step_ratio"], v2.parts["params_ratio"]) == (2.0, 0.5)
    at_reference = reward("v2", 0.8, macs=1, params=4, values={"step_ms": 7.0}, budget_macs=4, reference=(7.0, 4))
    assert at_reference.value == pytest.approx(0.8)
    with pytest.raises(SearchError, match="expected one of accuracy, mnasnet, v2"):
        reward("flops", 0.8, macs=1, params=1, values={}, budget_macs=1)


def _fake_predict(self, spec):
    macs = count_cost(spec).macs
    values = {}
    if self.needs_latency:
        values["latency_ms"] = macs / 100_000  # 2–17 ms on the tiny space
    if self.needs_step:
        values["step_ms"] = macs / 10_000
    return values


def _score(spec):
    return 0.5 + count_cost(spec).macs / 1e8


def test_latency_limit_is_recorded_like_the_budget(space, tmp_path, monkeypatch):
    monkeypatch.setattr(HardwareCost, "predict", _fake_predict)
    result = search("10M", space=space, objective=_score, n_trials=20, seed=0, out=tmp_path, timeout=None,
                    max_latency="6ms")
    records = open_run(tmp_path).records()
    over = [r for r in records if r.state == "infeasible"]
    assert over, "a 6 ms limit excludes part of the tiny space"
    for record in over:
        assert record.latency_ms > 6.0 and record.reason.startswith("latency ") and "> max 6.00 ms" in record.reason
        assert record.constraints["latency"] == pytest.approx(record.latency_ms / 6.0 - 1)
    scored = [r for r in records if r.state == "complete"]
    assert scored and all(r.latency_ms <= 6.0 and r.constraints["latency"] <= 0 for r in scored)
    assert {t.state for t in result.study.trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    assert result.study.user_attrs["max_latency_ms"] == 6.0


def test_mnasnet_reward_ranks_the_leaderboard(space, tmp_path, monkeypatch):
    monkeypatch.setattr(HardwareCost, "predict", _fake_predict)
    result = search(BUDGET, space=space, objective=_score, n_trials=15, seed=0, out=tmp_path, timeout=None,
                    reward="mnasnet")
    rows = result.leaderboard
    assert all(r.reward == pytest.approx(r.val_top1 * (r.macs / BUDGET) ** -0.07) for r in rows)
    assert [r.reward for r in rows] == sorted((r.reward for r in rows), reverse=True)
    best = [t for t in result.study.trials if t.number == rows[0].trial][0]
    assert best.value == pytest.approx(rows[0].reward)
    assert best.user_attrs["reward_parts"]["macs_ratio"] == pytest.approx(rows[0].macs / BUDGET)


def test_v2_reward_normalizes_by_b0(space, tmp_path, monkeypatch):
    monkeypatch.setattr(HardwareCost, "predict", _fake_predict)
    monkeypatch.setattr(HardwareCost, "predict_step", lambda self, spec: count_cost(spec).macs / 10_000)
    result = search(BUDGET, space=space, objective=_score, n_trials=8, seed=0, out=tmp_path, timeout=None,
                    reward="v2")
    from nasgen.spec import load_spec

    b0 = load_spec("efficientnet-b0").replace(num_classes=10, in_channels=1)
    ref_step, ref_params = count_cost(b0).macs / 10_000, count_cost(b0).params
    for row in result.leaderboard:
        expected = row.val_top1 * (row.step_ms / ref_step) ** -0.07 * (row.params / ref_params) ** -0.05
        assert row.reward == pytest.approx(expected)
        assert not math.isnan(row.step_ms)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--max-latency", "5"], "error: max-latency: give a unit (ms, s, us, m = minutes, h), e.g. 5ms, got '5'"),
        (["--max-latency", "-1ms"], "error: max-latency: must be a positive time"),
        (["--max-step-time", "fast"], "error: max-step-time: give a unit"),
        (["--objective", "flops"], "error: reward: expected one of accuracy, mnasnet, v2, got 'flops'"),
    ],
)
def test_cli_bad_hardware_options(tmp_path, args, message):
    result = CliRunner().invoke(app, ["search", "--budget", "400M", "--out", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(message) and result.output.strip().count("\n") == 0
    assert not (tmp_path / "study.db").exists()


def test_api_bad_limits(space, tmp_path):
    with pytest.raises(BudgetError, match="give a unit"):
        search(BUDGET, space=space, objective=_score, out=tmp_path, max_step_time=300)
