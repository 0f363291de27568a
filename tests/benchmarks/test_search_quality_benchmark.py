"""benchmarks/search_quality.py --quick: on a stand-in whose optimum is known (closeness-3: 1.0 on an eighth of the
space), every sampler's runs reach it (measured: all do within 40 trials) and the tables, JSON and stored baseline say so; a second call only reads."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture()
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import search_quality

    return search_quality


@pytest.mark.slow  # 23 s of CPU (8 searches of 40 trials), over the ~20 s unmarked tests may take
def test_the_quick_form_finds_and_reports_the_known_optimum(bench, tmp_path, capsys):
    work = tmp_path / "work"
    result = bench.main(["--quick", "--work", str(work)])
    arm = result["arms"]["closeness-3"]
    assert arm["optimum"] == 1.0 and arm["reference"] == 1.0 and arm["n_trials"] == 40
    assert set(arm["samplers"]) == {"random", "tpe", "evolution", "nsga2"}
    for name, row in arm["samplers"].items():
        cell = row["trials"]["40"]
        assert row["seeds"] == [0, 1]
        assert cell["found_optimum"] == 2, name  # both seeds reach 1.0 within 40 trials
        assert cell["mean"] == 1.0 and cell["regret"] == 0.0 and cell["sd"] == 0.0
    # the runs' own numbers: the best of each cached run is its best trial, which the scorer gives 1.0
    for name in arm["samplers"]:
        run = json.loads((work / "closeness-3" / f"{name}-seed0-n40.json").read_text())
        assert max(v for v in run["values"] if v is not None) == 1.0 == run["best_value"]
        assert len(run["values"]) == len(run["infeasible"]) == len(run["seconds"]) == 40
    # relative improvement over random (Yang et al.): random against itself is 0 %, an interval around it
    ri = arm["samplers"]["random"]["trials"]["40"]
    assert ri["ri"] == 0.0 and ri["ri_low"] <= 0.0 <= ri["ri_high"]
    table = capsys.readouterr().out
    assert "| random (2 seeds) | " in table and "2/2" in table
    assert (work / "summary-quick.md").read_text() in table
    baseline = json.loads((work / "closeness-3" / "baseline-random.json").read_text())
    assert [r["seed"] for r in baseline["runs"]] == [0, 1] and baseline["key"]["budget_macs"] == 400_000_000
    assert baseline["runs"][0]["best"][-1] == 1.0
    # a second call reads the cache and computes the same summary
    again = bench.main(["--quick", "--work", str(work)])
    assert again["arms"]["closeness-3"]["samplers"] == arm["samplers"]


def test_scorers_have_their_stated_optimum(bench):
    from nasgen.spec import load_spec

    closeness = bench.standin("closeness")
    assert closeness["scorer"](load_spec("efficientnet-b0")) == 1.0
    assert closeness["scorer"](load_spec("efficientnet-b0").replace(head_channels=960)) == 1.0 - 1 / 41
    rugged = bench.standin("rugged")
    space = rugged["space"]
    assert all(rugged["scorer"](space.sample(k)) < rugged["optimum"] for k in range(300))


def test_relative_improvement_is_yangs_ratio_with_a_bootstrap_interval(bench):
    ri, low, high = bench.relative_improvement([0.9, 0.8, 0.85], [0.5, 0.6, 0.55])
    assert math.isclose(ri, (0.85 - 0.55) / 0.55 * 100)
    assert low < ri < high and low > 0
