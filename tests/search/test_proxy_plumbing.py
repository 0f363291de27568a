"""The search around the proxy trainer, with ``evaluate_proxy`` replaced by a recording fake (fast)."""

from __future__ import annotations

import csv

import pytest
import torch
from optuna.trial import TrialState

import nasgen.train
from nasgen.cost import count_cost
from nasgen.errors import SearchError, TrainError
from nasgen.search import search
from nasgen.train import TrainResult

BUDGET = 1_000_000


class FakeProxy:
    """Stands in for ``nasgen.train.evaluate_proxy``: records each call, reports per-epoch accuracies."""

    def __init__(self, curve=None, fail_on=None):
        self.calls = []
        self.curve = curve or (lambda n, epoch: 0.5 + 0.01 * n)
        self.fail_on = fail_on

    def __call__(self, spec, data, config, *, seed, on_epoch=None):
        n = len(self.calls)
        self.calls.append({"spec": spec, "config": config, "seed": seed, "classes": data.num_classes})
        if self.fail_on is not None and self.fail_on(n):
            raise TrainError(f"loss became NaN at epoch 1 (trial call {n})")
        value = 0.0
        for epoch in range(config.epochs):  # 0-based, as nasgen.train's Trainer
            value = self.curve(n, epoch)
            if on_epoch is not None:
                on_epoch(epoch, value)
        model = torch.nn.Linear(2, 2)
        torch.nn.init.constant_(model.weight, float(n))
        return TrainResult(
            val_top1=value, val_loss=1.0, epochs=config.epochs, train_seconds=0.5, images_per_second=1.0,
            device="cpu", model=model,
        )


@pytest.fixture
def fake(monkeypatch):
    proxy = FakeProxy()
    monkeypatch.setattr(nasgen.train, "evaluate_proxy", proxy)
    monkeypatch.setattr(nasgen.train, "estimate_proxy_seconds", lambda *args, **kwargs: None)  # time unknown
    return proxy


def test_infeasible_samples_are_never_trained(space, tmp_path, fake):
    result = search(BUDGET, space=space, n_trials=15, seed=1, out=tmp_path, epochs=2, pruner="none",
                    feasible_start=False)  # over-budget samples wanted: the startup draws may land over the budget
    assert fake.calls, "some samples are feasible"
    assert all(count_cost(call["spec"]).macs <= BUDGET for call in fake.calls)
    infeasible = [t for t in result.study.trials if t.user_attrs["feasible"] is False]
    assert infeasible and all("val_top1" not in t.user_attrs for t in infeasible)
    trained = [t for t in result.study.trials if t.user_attrs["feasible"] and "reused_from" not in t.user_attrs]
    assert len(fake.calls) == len(trained)
    # every trial trains with the search seed, on the data's 10 classes, with the requested epochs
    assert {(c["seed"], c["classes"], c["config"].epochs) for c in fake.calls} == {(1, 10, 2)}
    first = trained[0].user_attrs
    assert (first["epochs"], first["train_seconds"], first["device"]) == (2, 0.5, "cpu")
    assert first["val_top1"] == pytest.approx(0.5)


def test_median_pruner_stops_worse_trials(space, tmp_path, monkeypatch):
    # trial n reports 0.9 - 0.05 n at every epoch: after 5 trials, each new trial is below the median
    proxy = FakeProxy(curve=lambda n, epoch: 0.9 - 0.05 * n)
    monkeypatch.setattr(nasgen.train, "evaluate_proxy", proxy)
    result = search("10M", space=space, n_trials=9, seed=0, out=tmp_path, epochs=3, pruner="median")
    pruned = [t for t in result.study.trials if t.state == TrialState.PRUNED]
    assert pruned and all(t.number >= 5 for t in pruned)
    for trial in pruned:
        assert trial.user_attrs["pruned_at_epoch"] == 1  # warm-up: never after the first epoch (epoch 0)
        assert set(trial.intermediate_values) == {0, 1}


def test_nan_loss_fails_one_trial_and_the_search_goes_on(space, tmp_path, monkeypatch):
    proxy = FakeProxy(fail_on=lambda n: n == 1)
    monkeypatch.setattr(nasgen.train, "evaluate_proxy", proxy)
    result = search("10M", space=space, n_trials=4, seed=0, out=tmp_path, epochs=1, pruner="none")
    failed = [t for t in result.study.trials if t.state == TrialState.FAIL]
    assert [t.user_attrs["error"] for t in failed] == ["TrainError: loss became NaN at epoch 1 (trial call 1)"]
    assert sum(t.state == TrialState.COMPLETE for t in result.study.trials) == 4


def test_save_weights_keeps_the_best_trials_weights_only(space, tmp_path, fake):
    from safetensors.torch import load_file

    result = search("10M", space=space, n_trials=5, seed=0, out=tmp_path, epochs=1, save_weights=True, pruner="none")
    files = sorted(tmp_path.glob("trials/*/weights.safetensors"))
    assert files == [tmp_path / "trials" / str(result.best_trial) / "weights.safetensors"]
    call = next(
        i for i, c in enumerate(fake.calls) if c["spec"].content_hash() == result.best_spec.content_hash()
    )
    assert torch.equal(load_file(str(files[0]))["weight"], torch.full((2, 2), float(call)))


def test_a_trial_running_past_the_time_limit_stops_at_the_epoch_end(space, tmp_path, fake):
    result = search("10M", space=space, n_trials=5, seed=0, out=tmp_path, epochs=3, pruner="none", timeout=1e-3)
    assert len(result.study.trials) == 1
    trial = result.study.trials[0]
    assert trial.state == TrialState.PRUNED and trial.user_attrs["stopped"] == "time limit"
    assert trial.user_attrs["pruned_at_epoch"] == 0 and list(trial.intermediate_values) == [0]
    # the last completed epoch's score is kept as a partial result, and is what best.yaml names
    assert trial.user_attrs["partial"] is True and trial.user_attrs["val_top1"] == pytest.approx(0.5)
    assert trial.user_attrs["epochs"] == 1 and trial.user_attrs["train_seconds"] >= 0
    assert result.best_trial == 0 and result.best_partial and result.best_value == pytest.approx(0.5)
    header = (tmp_path / "best.yaml").read_text().splitlines()[0]
    assert header.startswith("# nasgen search") and "trial 0, proxy val top-1 50.00 % (1 epoch(s) at " in header
    assert "partial: stopped by the time limit" in header


def test_a_partial_result_ranks_after_complete_ones_and_is_retried_on_resume(space, tmp_path, fake):
    first = search("10M", space=space, n_trials=5, seed=0, out=tmp_path, epochs=3, pruner="none", timeout=1e-3)
    assert [t.state for t in first.study.trials] == [TrialState.PRUNED]
    fake.curve = lambda n, epoch: 0.4 + 0.1 * epoch  # the retry completes: 0.6 after 3 epochs
    second = search("10M", space=space, n_trials=2, seed=0, out=tmp_path, epochs=3, pruner="none", timeout=None)
    assert second.requeued == [0]
    retry = second.study.trials[1]
    assert retry.params == first.study.trials[0].params and retry.user_attrs["retry_of"] == 0
    assert retry.state == TrialState.COMPLETE and retry.value == pytest.approx(0.6)
    assert second.best_trial == 1 and not second.best_partial
    rows = list(csv.DictReader((tmp_path / "leaderboard.csv").open()))
    assert [(r["trial"], r["status"]) for r in rows] == [("1", "complete")]  # the same architecture once


def test_the_first_trial_does_not_start_when_one_epoch_cannot_fit(space, tmp_path, fake, monkeypatch):
    import io

    from rich.console import Console

    monkeypatch.setattr(nasgen.train, "estimate_proxy_seconds", lambda *args, **kwargs: (40.0, 120.0))
    shown = io.StringIO()
    result = search("10M", space=space, n_trials=5, seed=0, out=tmp_path, epochs=3, pruner="none", timeout=10,
                    console=Console(file=shown, width=300))
    assert "trial #0: one proxy epoch takes ≈40 s here (timed on a few steps), the recipe ≈120 s;" in shown.getvalue()
    assert fake.calls == [] and result.best_spec is None
    assert "takes ≈40 s here (measured), the whole recipe ≈120 s" in result.not_started
    assert "--timeout 145 or more" in result.not_started
    assert [t.user_attrs["stopped"] for t in result.study.trials] == ["time limit (not started)"]


def test_a_trial_finishing_past_the_time_limit_is_kept(space, tmp_path, fake):
    result = search("10M", space=space, n_trials=5, seed=0, out=tmp_path, epochs=1, pruner="none", timeout=1e-3)
    assert [t.state for t in result.study.trials] == [TrialState.COMPLETE]
    assert result.best_trial == 0


def test_stopping_for_the_time_limit_says_so(space, tmp_path, fake):
    import io

    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=200, force_terminal=False)
    result = search(
        "10M", space=space, n_trials=5, seed=0, out=tmp_path, epochs=1, pruner="none", timeout=1e-3, console=console
    )
    assert len(result.study.trials) == 1
    text = buffer.getvalue()
    assert "ETA 0:00" in text
    assert "stopping at 1/5 trials" in text and "run the same command again" in text and "--timeout" in text


def test_resume_with_another_proxy_names_the_changed_field(fake, space, tmp_path):
    search("10M", space=space, n_trials=1, seed=0, out=tmp_path, epochs=1, pruner="none")
    with pytest.raises(SearchError) as error:
        search("10M", space=space, n_trials=2, seed=0, out=tmp_path, epochs=3, pruner="none")
    assert "another proxy: epochs 1 (now 3);" in str(error.value) and len(str(error.value)) < 250
