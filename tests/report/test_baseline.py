"""``--baseline random`` (issue 27, point 4): random searches stored apart, their band drawn in the report's history
when the settings match, and not drawn (with the reason) when they do not."""

from __future__ import annotations

import json
import math

import optuna
from matplotlib.collections import PolyCollection
from typer.testing import CliRunner

from nasgen.cli import app
from nasgen.cost import count_cost
from nasgen.report import write_report
from nasgen.report._data import gather
from nasgen.report._figures import history
from nasgen.runs import RunDir, baseline_key, read_baseline, write_baseline
from nasgen.search import open_run, search


def _capacity(spec) -> float:
    return math.log10(count_cost(spec).macs)


def _running_max(values):
    out, best = [], None
    for v in values:
        if v is not None and (best is None or v > best):
            best = v
        out.append(best)
    return out


def test_the_baseline_is_stored_apart_and_its_curves_are_its_runs(tmp_path):
    out = tmp_path / "run"
    result = search("100M", space="efficientnet-v1", objective=_capacity, n_trials=12, seed=3, timeout=None, out=out,
                    baseline="random", baseline_seeds=2, feasible_start=False)  # fmt: skip
    files = RunDir(out)
    baseline = read_baseline(files.baseline("random"))
    assert baseline is not None and baseline.sampler == "random"
    assert [r["seed"] for r in baseline.runs] == [4, 5]
    assert baseline.key == baseline_key(open_run(out).meta) and baseline.key["budget_macs"] == 100_000_000
    assert len(result.study.trials) == 12  # the study holds its own trials only
    for entry in baseline.runs:
        sub = open_run(files.baseline_runs / f"random-{entry['seed']}")
        assert sub.meta["sampler"] == "random"
        trials = sorted(sub.study.trials, key=lambda t: t.number)
        assert len(trials) == 12
        values = [t.value if t.state == optuna.trial.TrialState.COMPLETE else None for t in trials]
        assert entry["best"] == _running_max(values)
        assert any(v is None for v in values)  # 100M: about 60 % of efficientnet-v1 is over it, recorded so
    data = gather(open_run(out))
    xs, mean, low, high = data.baseline.band()
    assert xs[-1] == 12 and low[-1] <= mean[-1] <= high[-1]
    assert mean[-1] == (baseline.runs[0]["best"][-1] + baseline.runs[1]["best"][-1]) / 2
    ax = history(data).axes[0]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection) and "random" in c.get_label()]
    assert len(bands) == 1 and bands[0].get_label() == "random: min–max of 2 seeds"
    line = next(line for line in ax.lines if line.get_label() == "random: mean best so far")
    assert list(line.get_ydata())[-1] == mean[-1]
    page = write_report(open_run(out), out).html.read_text()
    assert "The green band is the best so far of 2 random searches" in page


def test_a_baseline_of_another_budget_is_not_drawn_and_the_report_says_why(tmp_path):
    out = tmp_path / "run"
    search("100M", space="efficientnet-v1", objective=_capacity, n_trials=6, timeout=None, out=out)
    key = baseline_key(open_run(out).meta)
    write_baseline(RunDir(out).baseline(), sampler="random", key={**key, "budget_macs": 400_000_000},
                   runs=[{"seed": 1, "best": [None, 7.5, 7.9]}])  # fmt: skip
    data = gather(open_run(out))
    assert data.baseline is None
    assert data.baseline_note.startswith("random baseline not drawn: baseline-random.json: budget_macs differs")
    assert "400000000" in data.baseline_note
    page = write_report(open_run(out), out).html.read_text()
    assert "random baseline not drawn" in page
    # the same file with the run's own key is drawn
    write_baseline(RunDir(out).baseline(), sampler="random", key=key, runs=[{"seed": 1, "best": [None, 7.5, 7.9]}])
    data = gather(open_run(out))
    assert data.baseline is not None and data.baseline.band() == ([2, 3], [7.5, 7.9], [7.5, 7.9], [7.5, 7.9])
    assert json.loads(RunDir(out).baseline().read_text())["format"] == "nasgen-baseline/1"


def test_an_unknown_baseline_sampler_is_one_error_line(tmp_path):
    result = CliRunner().invoke(app, ["search", "--budget", "100M", "--baseline", "tpe", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("error: --baseline: expected one of random, got 'tpe'")
    assert "Traceback" not in result.output
