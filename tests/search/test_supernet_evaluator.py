"""``--evaluator supernet``: a search scored by one weight-sharing supernet, trained once per study and reused.

The recipe is the supernet tests' tiny one (two epochs of 256 images) put in place of the named presets; the space is
``examples/small_space.yaml``; everything else is the real search.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nasgen.supernet
from nasgen.cli import app
from nasgen.runs import open_run
from nasgen.search import search

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "supernet"))
from supernet_helpers import SMALL_SPACE, tiny_recipe  # noqa: E402

BUDGET = "60M"


@pytest.fixture
def tiny_presets(monkeypatch):
    monkeypatch.setattr(nasgen.supernet, "supernet_recipe", lambda name: tiny_recipe())
    monkeypatch.setattr(nasgen.supernet, "default_supernet_recipe", lambda device=None: tiny_recipe())


def test_a_supernet_search_scores_every_feasible_trial_with_the_supernet(tmp_path, tiny_presets):
    out = tmp_path / "run"
    result = search(BUDGET, space=SMALL_SPACE, evaluator="supernet", n_trials=12, out=out, timeout=None, seed=0)
    assert result.evaluator == "supernet"
    assert (out / "supernet" / "supernet.safetensors").is_file() and (out / "supernet" / "meta.json").is_file()
    assert any(note.startswith("supernet: 2 epoch(s) of the sandwich rule, trained in ") for note in result.notes)
    run = open_run(out)
    scored = [r for r in run.records() if r.scored]
    assert scored and {r.evaluator for r in scored} == {"supernet"}
    assert all(0.0 <= r.val_top1 <= 1.0 and r.epochs == 0 for r in scored)  # scores, not training runs
    assert all(r.proxy_px is not None for r in scored)  # scored at the proxy's resolution
    assert result.best_value == max(r.val_top1 for r in scored)
    import csv

    rows = list(csv.DictReader((out / "leaderboard.csv").open(encoding="utf-8")))
    assert rows and {row["evaluator"] for row in rows} == {"supernet"}  # the leaderboard says what scored each row
    assert f"<dt>scored by</dt><dd>supernet ({len(scored)} trial(s))</dd>" in (out / "report.html").read_text()
    # the same study again: the supernet is reused, not trained twice, and the study is resumed
    again = search(BUDGET, space=SMALL_SPACE, evaluator="supernet", n_trials=14, out=out, timeout=None, seed=0)
    assert any(note.startswith("supernet: 2 epoch(s) of the sandwich rule, reused") for note in again.notes)
    assert len(again.study.trials) >= 14


def test_a_subnet_score_is_the_supernets_own(tmp_path, tiny_presets):
    # the trial's recorded score equals a fresh scorer's on the trained supernet: seeded calibration, fixed val split
    from nasgen.data import load_dataset
    from nasgen.supernet import SubnetScorer, load_supernet

    out = tmp_path / "run"
    result = search(BUDGET, space=SMALL_SPACE, evaluator="supernet", n_trials=6, out=out, timeout=None, seed=0)
    record = next(r for r in open_run(out).records() if r.scored)
    trained = load_supernet(out)
    score = SubnetScorer(trained.supernet, load_dataset(), trained.recipe, seed=0).score(record.spec())
    assert score.val_top1 == pytest.approx(record.val_top1, abs=1e-9)
    assert result.study.user_attrs["evaluator"] == '{"name": "supernet", "recipe": "' + tiny_recipe().recipe_hash() + '"}'


def test_a_resume_with_another_evaluator_is_refused(tmp_path, tiny_presets):
    out = tmp_path / "run"
    search(BUDGET, space=SMALL_SPACE, evaluator="supernet", n_trials=2, out=out, timeout=None, seed=0)
    result = CliRunner().invoke(app, ["search", "--budget", BUDGET, "--space", str(SMALL_SPACE), "--out", str(out),
                                      "--n-trials", "3", "--evaluator", "zero-cost:synflow"])  # fmt: skip
    assert result.exit_code == 2
    assert "was created with another evaluator" in " ".join(result.output.split())


def test_bad_evaluator_names_are_one_error_line(tmp_path):
    for name, message in (("supernett", "evaluator: expected one of proxy, supernet, zero-cost"),
                          ("zero-cost:flops", "zero-cost needs one of synflow, naswot, grad_norm, snip"),
                          ("supernet:big", "'supernet' takes no argument")):  # fmt: skip
        result = CliRunner().invoke(app, ["search", "--budget", BUDGET, "--out", str(tmp_path / name),
                                          "--evaluator", name])  # fmt: skip
        assert result.exit_code == 2, result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output


def test_confirm_from_the_supernets_weights_is_a_second_arm(tmp_path, tiny_presets):
    import csv

    out = tmp_path / "run"
    search(BUDGET, space=SMALL_SPACE, evaluator="supernet", n_trials=6, out=out, timeout=None, seed=0, epochs=1)
    args = ["confirm", str(out), "--top", "1", "--seeds", "2", "--epochs", "1"]
    scratch = CliRunner().invoke(app, args)
    assert scratch.exit_code == 0, scratch.output
    best_before = (out / "best.yaml").read_text()
    inherited = CliRunner().invoke(app, [*args, "--init", "inherited"])
    assert inherited.exit_code == 0, inherited.output
    assert (out / "best.yaml").read_text() == best_before  # the verdict of record is the scratch arm's
    a = list(csv.DictReader((out / "confirm.csv").open()))
    b = list(csv.DictReader((out / "confirm-inherited.csv").open()))
    assert [r["hash"] for r in a] == [r["hash"] for r in b]
    assert a[0]["mean"] != b[0]["mean"]  # another start, another result
    keys = [k for k in open_run(out).meta if k.startswith("confirm:")]
    assert sum(k.endswith(":inherited") for k in keys) == 2 and len(keys) == 4  # 2 seeds per arm, stored apart


def test_confirm_inherited_without_a_supernet_is_one_error_line(tmp_path):
    from nasgen.config import TrainConfig

    out = tmp_path / "run"
    search("60M", space=SMALL_SPACE, n_trials=2, out=out, timeout=None, seed=0,
           proxy=TrainConfig(epochs=1, images_per_epoch=128, val_images=64, batch_size=64, resolution_px=16))
    result = CliRunner().invoke(app, ["confirm", str(out), "--top", "1", "--seeds", "2", "--init", "inherited"])
    assert result.exit_code == 2
    assert "holds no trained supernet (search it with --evaluator supernet first)" in " ".join(result.output.split())
