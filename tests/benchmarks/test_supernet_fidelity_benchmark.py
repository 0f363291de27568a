"""benchmarks/supernet_fidelity.py's statistics and arms (its --quick run trains supernets: run by hand)."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture()
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import supernet_fidelity

    return supernet_fidelity


def test_precision_at_the_top_tenth(bench):
    reference = [float(i) for i in range(20)]  # the top 10 % = the 2 best: 19 and 18
    assert bench.precision_at_top(reference, reference) == 1.0
    assert bench.precision_at_top([-v for v in reference], reference) == 0.0
    shuffled = reference[:18] + [reference[19], -1.0]  # 19 kept on top, 18 pushed to the bottom
    assert bench.precision_at_top(shuffled, reference) == 0.5
    assert bench.precision_at_top([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == 0.0  # k = ceil(0.3) = 1


def test_statistics_and_their_intervals(bench):
    x, y = [1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 1.0, 4.0, 3.0, 5.0]
    assert bench.spearman_rho(x, y) == pytest.approx(0.8)
    low, high = bench.bootstrap(bench.spearman_rho, x, y, n_resamples=200)
    assert -1.0 <= low <= 0.8 <= high <= 1.0


def test_arms_differ_from_the_main_recipe_in_one_setting(bench):
    arms = bench.arm_recipes(False, list(bench.ARMS))
    main = arms["main"]
    assert (main.strategy, main.distill, main.train.epochs) == ("sandwich", True, 4)
    assert arms["no-distill"] == main.replace(distill=False)
    assert arms["uniform"].strategy == "uniform" and arms["uniform"].train.epochs == 4 * main.subnets_per_step()
    assert (arms["half-epochs"].train.epochs, arms["double-epochs"].train.epochs) == (2, 8)
    fast = bench.fast_scoring(main)
    assert fast.recipe_hash() == main.recipe_hash()  # the same trained supernet, scored on fewer images
    assert (fast.calibration_images, fast.train.val_images) == (250, 1000)
    with pytest.raises(SystemExit, match="unknown arm 'fast'"):
        bench.arm_recipes(False, ["fast"])
