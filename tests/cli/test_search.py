"""``nasgen search`` on bad input: one ``error:`` line, exit code 2, no traceback; and a quick real run."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from nasgen.cli import app

runner = CliRunner()


def _run(*args: str):
    result = runner.invoke(app, ["search", *args])
    return result, result.output


def _assert_usage_error(result, output: str, *expected: str) -> None:
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    for text in expected:
        assert text in lines[0], output


def test_unknown_space(tmp_path):
    result, output = _run("--budget", "400M", "--space", "efficientnet-v9", "--out", str(tmp_path))
    _assert_usage_error(result, output, "'efficientnet-v9' is neither a file nor a built-in search space")


def test_missing_space_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    result, output = _run("--budget", "400M", "--space", str(missing), "--out", str(tmp_path))
    _assert_usage_error(result, output, "no such file", "nope.yaml")


def test_malformed_space_yaml(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stem:\n  out_channels: [16, 32\nstages: []\n")
    result, output = _run("--budget", "400M", "--space", str(bad), "--out", str(tmp_path / "run"))
    _assert_usage_error(result, output, "bad.yaml", "line")


@pytest.mark.parametrize("budget", ["40x", "-3M", "0"])
def test_malformed_budget(tmp_path, budget):
    result, output = _run("--budget", budget, "--out", str(tmp_path))
    _assert_usage_error(result, output, "budget (MACs)", repr(budget))


def test_budget_nothing_meets(tmp_path):
    result, output = _run("--budget", "1M", "--out", str(tmp_path))
    _assert_usage_error(
        result, output, "budget 1.0M MACs (1,000,000) is below the smallest architecture",
        "(counted for this data: 1 input channel(s), 10 classes)",
    )
    assert not (tmp_path / "study.db").exists()


def test_data_path_missing(tmp_path):
    result, output = _run("--budget", "400M", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "r"))
    _assert_usage_error(result, output, "nothing")


def test_dataset_with_one_class(tmp_path):
    npz = tmp_path / "one.npz"
    np.savez(npz, images=np.zeros((20, 28, 28), dtype=np.uint8), labels=np.zeros(20, dtype=np.int64))
    result, output = _run("--budget", "400M", "--data", str(npz), "--out", str(tmp_path / "r"))
    _assert_usage_error(result, output, "class")


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--sampler", "grid", "--sampler: expected one of tpe, random, nsga2, evolution, got 'grid'"),
        ("--pruner", "asha", "--pruner: expected one of median, hyperband, none, got 'asha'"),
        ("--scale-phi", "1,x", "--scale-phi: expected numbers separated by commas"),
        ("--enqueue", "efficientnet-b9", "efficientnet-b9"),
        ("--max-params", "5Q", "max-params"),
        ("--timeout", "-5", "timeout: must be a positive number of seconds, got -5.0"),
    ],
)
def test_bad_options(tmp_path, option, value, expected):
    result, output = _run("--budget", "400M", option, value, "--out", str(tmp_path))
    _assert_usage_error(result, output, expected)


def test_nothing_evaluated_exits_2_and_says_why(tmp_path):
    # every sample is over --max-params: costed, recorded infeasible, never trained; no best architecture. The
    # settings are the user's to change, so it is the usage-error exit 2 (issue 31.5: it was 1)
    result, output = _run("--budget", "400M", "--max-params", "1K", "--n-trials", "2", "--out", str(tmp_path))
    assert result.exit_code == 2 and "Traceback" not in output
    text = " ".join(output.split())
    assert "error: no architecture was evaluated in 2 trial(s): 2 over the limits (never trained), 0 pruned, " in text
    assert (tmp_path / "study.db").is_file() and (tmp_path / "leaderboard.csv").is_file()


def test_bad_storage_url(tmp_path):
    result, output = _run("--budget", "400M", "--storage", "nosuchdb://x", "--out", str(tmp_path))
    _assert_usage_error(result, output, "storage 'nosuchdb://x'")


def test_ctrl_c_exits_130_with_one_line(tmp_path, monkeypatch):
    import nasgen.search

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(nasgen.search, "search", interrupted)
    result, output = _run("--budget", "400M", "--out", str(tmp_path))
    assert result.exit_code == 130 and "Traceback" not in output
    assert output.strip() == "interrupted: completed trials are kept; run the same command again to resume"


class _FakeProxy:
    def __call__(self, spec, data, config, *, seed, on_epoch=None):
        from nasgen.train import TrainResult

        for epoch in range(config.epochs):
            if on_epoch is not None:
                on_epoch(epoch, 0.8)
        return TrainResult(val_top1=0.8, val_loss=1.0, epochs=config.epochs, train_seconds=0.1,
                           images_per_second=1.0, device="cpu")


def test_off_a_terminal_the_summary_keeps_whole_stage_strings_and_says_the_noise(tmp_path, monkeypatch):
    import nasgen.train

    monkeypatch.setattr(nasgen.train, "evaluate_proxy", _FakeProxy())
    monkeypatch.setattr(nasgen.train, "estimate_proxy_seconds", lambda *a, **k: None)
    # --no-feasible-start: the random stream this test's stage strings were read from (the start draws others)
    result, output = _run("--budget", "400M", "--n-trials", "2", "--epochs", "1", "--no-feasible-start",
                          "--out", str(tmp_path))
    assert result.exit_code == 0, output
    assert "…" not in output  # no column cut to 80 characters
    row = next(line for line in output.splitlines() if line.replace(" ", "").startswith("│1│"))
    assert "80.00%" in row and " 32 " in row and "ir_r3_k3_s2_e6_c160 " in row  # %, proxy px, whole stages
    assert "proxy val top-1 80.00 %" in (tmp_path / "best.yaml").read_text().splitlines()[0]
    text = " ".join(output.split())
    assert "trial 1/2 #0: val top-1 80.00% at 32 px" in text  # the progress line uses the table's format
    assert "160 px (proxy trains at 32 px)" in text
    assert "ranks 1–2 (2 architectures) are within 4.41 points (1.96·√2 sd) of the first: a tie" in text
