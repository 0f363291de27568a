"""benchmarks/score_fidelity.py end to end at a tiny recipe: stratification, every score's τ, resume from the JSON."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture()
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import score_fidelity

    return score_fidelity


def test_stratified_archs_span_the_feasible_macs_range(bench):
    archs, n_feasible = bench.stratified_archs("efficientnet-v1", 100_000_000, 3, 60)
    macs = [a["macs"] for a in archs]
    assert 0 < n_feasible <= 60 and len(archs) == 4 and archs[-1]["name"] == "efficientnet-b0"
    assert macs[:3] == sorted(macs[:3]) and macs[2] <= 100_000_000 < macs[3]  # B0 rides along over this budget
    assert len({a["hash"] for a in archs}) == 4


def test_tiny_run_gives_every_score_a_tau_and_resumes_without_training(bench, tmp_path, capsys):
    out = tmp_path / "fidelity.json"
    argv = [
        "--quick", "--n-archs", "2", "--pool", "40", "--budget", "60M", "--proxy-epochs", "1",
        "--proxy-images", "256", "--reference-factor", "2", "--threads", "1", "--out", str(out),
    ]
    first = bench.main(argv)
    rows, summary = first["archs"], first["summary"]
    assert summary["n_archs"] == len(rows) == 3
    reference = [statistics.mean(r["reference"]) for r in rows]
    assert all(len(r["reference"]) == 2 for r in rows)
    assert summary["split_half_tau"] == pytest.approx(
        bench.kendall_tau([r["reference"][0] for r in rows], [r["reference"][1] for r in rows]), nan_ok=True
    )
    expected = {"(a) proxy top-1", "(b) mean of 2 half-length seeds", "(e) MACs", "(f) params",
                "(d) synflow", "(d) naswot", "(d) grad_norm", "(d) snip"}
    assert expected <= set(summary["scores"])
    macs_tau = bench.kendall_tau([r["macs"] for r in rows], reference)
    assert summary["scores"]["(e) MACs"]["tau"] == pytest.approx(macs_tau, nan_ok=True)
    for r in rows:  # SoTL is the negated per-image sum of the training losses
        assert r["scores"]["(c) SoTL, proxy run"][0] < 0 and math.isfinite(r["scores"]["(d) synflow"][0])
    saved = json.loads(out.read_text())
    assert len(saved["runs"]) == 3 * 6  # per arch: proxy, 2 halves, 2 references, zero-cost
    second = bench.main(argv)  # every run comes from the cache: the same numbers, wall times included
    assert json.dumps(second["runs"]) == json.dumps(saved["runs"])
    assert json.dumps(second["summary"]) == json.dumps(summary)
    assert "ceiling: split-half tau" in capsys.readouterr().out
    report = bench.main([*argv, "--report-only"])  # trains nothing, leaves --out alone, writes a summary beside it
    assert json.dumps(report["summary"]) == json.dumps(summary) and out.read_text() == json.dumps(second, indent=1)
    assert json.loads(out.with_suffix(".summary.json").read_text())["summary"]["n_archs"] == 3
    out.write_text(json.dumps({"runs": {}}))
    assert bench.main([*argv, "--report-only"])["summary"] == {"n_archs": 0, "scores": {}}


def test_summary_taus_on_known_rows(bench):
    def row(ref, proxy, macs):
        scores = {"(a) proxy top-1": (proxy, 10.0, 20.0), "(e) MACs": (macs, 0.0, 0.0)}
        return {"reference": ref, "scores": scores}

    # reference means 0.81, 0.85, 0.89, 0.93; the proxy orders them all right; MACs swap the last two;
    # seed 1001 swaps the first two of seed 1000 → split-half τ = (5 − 1)/6.
    rows = [
        row([0.82, 0.80], 0.70, 1e6), row([0.81, 0.89], 0.71, 2e6),
        row([0.88, 0.90], 0.75, 4e6), row([0.92, 0.94], 0.76, 3e6),
    ]
    summary = bench.summarize(rows)
    assert summary["split_half_tau"] == pytest.approx(4 / 6)
    assert summary["scores"]["(a) proxy top-1"]["tau"] == pytest.approx(1.0)
    assert summary["scores"]["(e) MACs"]["tau"] == pytest.approx(4 / 6)
    assert summary["scores"]["(a) proxy top-1"]["tau_95"] == [1.0, 1.0]
    low, high = summary["scores"]["(e) MACs"]["tau_95"]
    assert -1.0 <= low < 4 / 6 < high <= 1.0
    assert summary["scores"]["(a) proxy top-1"]["wall_s_mean"] == 10.0
