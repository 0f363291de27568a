"""A newcomer's first hour (issue 31), through the CLI as a user runs it: each of these failed before its fix.

The proxy is replaced by a seeded stand-in that builds the real model (so ``--save-weights`` has weights to save)
and scores it by a rule the test chooses; everything else — the CLI, the search, the run directory, confirm, export,
the report — is the real thing.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import nasgen.train
from nasgen.cli import app
from nasgen.space import dump_space

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from image_trees import make_tree  # noqa: E402


def _tiny_space():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "search" / "conftest.py"
    spec = importlib.util.spec_from_file_location("nasgen_tests_search_fixtures_first_hour", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.tiny_space()


tiny_space = _tiny_space

runner = CliRunner()
BUDGET = "1M"
TINY_ARCH = """\
name: tiny
in_channels: 1
resolution_px: 32
stem: {out_channels: 8, kernel_size: 3, stride: 2}
stages:
- {kind: mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 16, se_ratio: 0.25}
head_channels: 32
num_classes: 10
"""  # MACs: some of the tiny space's architectures are over it


class BuildingProxy:
    """``nasgen.train.evaluate_proxy`` stand-in: builds the proxy's model (weights to keep) and scores ``score(spec,
    seed)``, calling ``on_epoch`` like the trainer."""

    def __init__(self, score):
        self.score = score

    def __call__(self, spec, data, config, *, seed, on_epoch=None):
        from nasgen.nn import build_model

        train = data[0] if isinstance(data, tuple) else data
        model = build_model(spec.replace(num_classes=train.num_classes, in_channels=train.in_channels))
        value = self.score(spec, seed)
        for epoch in range(config.epochs):
            if on_epoch is not None:
                on_epoch(epoch, value)
        return nasgen.train.TrainResult(val_top1=value, val_loss=1.0, epochs=config.epochs, train_seconds=0.01,
                                        images_per_second=1.0, device="cpu", model=model)  # fmt: skip


@pytest.fixture
def space_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(dump_space(tiny_space()), encoding="utf-8")
    return path


@pytest.fixture
def proxy(monkeypatch):
    def install(score):
        monkeypatch.setattr(nasgen.train, "evaluate_proxy", BuildingProxy(score))
        monkeypatch.setattr(nasgen.train, "estimate_proxy_seconds", lambda *a, **k: None)

    return install


def _search(space_file: Path, out: Path, *extra: str):
    args = ["search", "--budget", BUDGET, "--space", str(space_file), "--out", str(out), "--epochs", "1",
            "--pruner", "none", "--timeout", "600", *extra]  # fmt: skip
    return runner.invoke(app, args)


def _best_trial(out: Path) -> int:
    return int((out / "best.yaml").read_text(encoding="utf-8").split("trial ", 1)[1].split(",", 1)[0])


def test_1_weights_of_a_tied_best_are_saved_and_exported(tmp_path, space_file, proxy):
    proxy(lambda spec, seed: 0.5)  # every score ties: the leaderboard breaks the tie by fewer MACs
    out = tmp_path / "run"
    result = _search(space_file, out, "--n-trials", "8", "--save-weights")
    assert result.exit_code == 0, result.output
    best = _best_trial(out)
    assert (out / "trials" / str(best) / "weights.safetensors").is_file()
    assert sorted(p.parent.name for p in out.glob("trials/*/weights.safetensors")) == [str(best)]
    exported = runner.invoke(app, ["export", str(out), "-o", str(tmp_path / "exp"), "-f", "weights,manifest"])
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "exp" / "weights.safetensors").is_file()


def test_1_a_run_without_save_weights_says_so_on_export(tmp_path, space_file, proxy):
    proxy(lambda spec, seed: 0.5)
    out = tmp_path / "run"
    assert _search(space_file, out, "--n-trials", "3").exit_code == 0
    exported = runner.invoke(app, ["export", str(out), "-o", str(tmp_path / "exp"), "-f", "weights"])
    assert exported.exit_code == 2
    assert "the search ran without --save-weights" in " ".join(exported.output.split())


def test_2_confirm_reads_the_search_data_with_its_settings(tmp_path, proxy):
    root = make_tree(tmp_path / "tree", n_per_class=12)
    (root / "blue" / "zz_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    (root / "red" / "notes.txt").write_text("not an image")
    proxy(lambda spec, seed: 0.6 + 0.01 * seed + spec.resolution_px / 1e4)
    out = tmp_path / "run"
    space = tmp_path / "tiny.yaml"
    space.write_text(dump_space(tiny_space().model_copy(update={"in_channels": 3, "num_classes": 2})))
    result = _search(space, out, "--data", str(root), "--n-trials", "4", "--skip-bad-images", "--loader-workers", "0",
                     "--proxy-images", "20")  # fmt: skip
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "note: ignored 1 file" in output  # the note `nasgen train` prints, now the search's too
    assert "skipped 1 bad image(s)" in output
    confirmed = runner.invoke(app, ["confirm", str(out), "--top", "2", "--seeds", "2"])
    assert confirmed.exit_code == 0, confirmed.output  # it used to stop at the corrupt file
    assert (out / "confirm.csv").is_file()
    again = runner.invoke(app, ["confirm", str(out), "--top", "2", "--seeds", "2", "--no-skip-bad-images",
                                "--proxy-images", "24", "--loader-workers", "0"])  # fmt: skip
    assert again.exit_code == 2 and str(root / "blue" / "zz_corrupt.png") in again.output  # a fresh subset, strict


def test_5_validate_says_what_share_of_a_space_fits_a_budget():
    result = runner.invoke(app, ["validate", "efficientnet-v2", "--budget", "400M"])
    assert result.exit_code == 0, result.output
    import re

    line = next(line for line in result.output.splitlines() if line.startswith("fits 400.0M MACs: "))
    match = re.fullmatch(r"fits 400.0M MACs: (\d+\.\d) % of 1,000 random samples \(95 % interval (\d+\.\d)–(\d+\.\d) %\)",
                         line)  # fmt: skip
    assert match, line
    share, low, high = map(float, match.groups())
    assert 0.0 <= low <= share <= high <= 10.0  # V2-S alone is 8.4G: little of this space fits 400M (README: 0.3 %)


def test_5_a_search_warns_when_little_of_the_space_fits(tmp_path, space_file, proxy):
    proxy(lambda spec, seed: 0.5)
    share = tiny_space().budget_share(220_000, samples=500, num_classes=10, in_channels=1)  # as the search draws
    assert share.high < 0.10
    result = _search(space_file, tmp_path / "run", "--budget", "220K", "--n-trials", "2")
    text = " ".join(result.output.split())
    assert f"warning: only 220.0K MACs fits {share.describe()} of the space: most samples will be over" in text, text
    loose = _search(space_file, tmp_path / "loose", "--budget", "300K", "--n-trials", "1")
    assert "warning: only" not in loose.output  # 11.8 % (9.3–14.9 %) fits 300K: no warning


def test_6_intervals_stay_inside_0_100_and_one_candidate_says_so(tmp_path, space_file, proxy):
    proxy(lambda spec, seed: (0.97, 0.995, 1.0)[seed])  # near the top: a plain t interval passes 100 %
    out = tmp_path / "run"
    assert _search(space_file, out, "--n-trials", "4").exit_code == 0
    result = runner.invoke(app, ["confirm", str(out), "--top", "1", "--seeds", "3"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "confirm.csv").open()))
    assert len(rows) == 1 and 0.0 <= float(rows[0]["ci95_low"]) <= float(rows[0]["ci95_high"]) <= 1.0
    assert float(rows[0]["ci95_low"]) < float(rows[0]["mean"]) < float(rows[0]["ci95_high"])
    text = " ".join(result.output.split())
    assert "only one architecture was confirmed" in text and "only candidate" in text
    assert "tie, recommended" not in text


def test_7_export_of_a_never_trained_trial_says_so(tmp_path, space_file, proxy):
    proxy(lambda spec, seed: 0.5)
    out = tmp_path / "run"
    # without the feasible start, so that random startup draws land over the budget as a user's can
    assert _search(space_file, out, "--n-trials", "10", "--no-feasible-start").exit_code == 0
    from nasgen.runs import open_run

    infeasible = next(r for r in open_run(out).records() if r.state == "infeasible")
    result = runner.invoke(app, ["export", str(out), "-o", str(tmp_path / "exp"), "--trial", str(infeasible.number),
                                 "-f", "arch,manifest"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"note: trial {infeasible.number} was never trained: it is over a limit (MACs " in result.output
    import json

    manifest = json.loads((tmp_path / "exp" / "manifest.json").read_text())
    assert manifest["source"]["record_state"] == "infeasible" and "never trained" in manifest["source"]["note"]


def test_8_search_help_reads_at_80_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, ["search", "--help"], terminal_width=80)
    lines = result.output.splitlines()
    assert result.exit_code == 0 and len(lines) < 160, len(lines)  # 272 lines before the groups
    assert any("Budget and limits" in line for line in lines) and any("Scale-out" in line for line in lines)


def test_8_train_prints_each_epoch_once_into_a_log(tmp_path):
    import numpy as np

    from nasgen.data import load_dataset, split

    arch = tmp_path / "tiny.yaml"
    arch.write_text(TINY_ARCH, encoding="utf-8")
    train_set, _ = split(load_dataset("embedded"))
    index = np.sort(np.random.default_rng(0).choice(len(train_set), 200, replace=False))
    np.savez(tmp_path / "data.npz", images=train_set.images[index, :, :, 0], labels=train_set.labels[index])
    args = ["train", str(arch), "--data", str(tmp_path / "data.npz"), "--epochs", "2", "--out", str(tmp_path / "out"),
            "--batch-size", "64", "--device", "cpu"]  # fmt: skip
    with torch.random.fork_rng():
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    for epoch in (1, 2):
        assert sum(line.startswith(f"epoch {epoch}/2") for line in result.output.splitlines()) == 1, result.output


def test_8_a_busy_run_directory_says_what_to_do(tmp_path, space_file):
    from nasgen.runs import RunLock

    with RunLock(tmp_path / "run"):
        result = _search(space_file, tmp_path / "run", "--n-trials", "1")
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "another nasgen search (pid " in text and "the same command resumes), or pass another --out" in text
