"""The console entry point: click's own usage errors look like nasgen's (one ``error:`` line, exit 2)."""

from __future__ import annotations

import pytest

from nasgen.cli import main


def _main(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "efficientnet-b0", "--epochs", "0"], "error: Invalid value for '--epochs': Input should be greater"),
        (
            ["train", "efficientnet-b0", "--epochs", "1", "--optimizer", "nosuch"],
            "error: Invalid value for '--optimizer': 'nosuch' is not one of 'sgd', 'rmsprop', 'adamw'.",
        ),
        (
            ["scale", "efficientnet-b0", "--phi", "abc"],
            "error: Invalid value for '--phi': Input should be a valid number",
        ),
        (["search", "--budget", "400M", "--nosuch"], "error: No such option: --nosuch"),
        (["search"], "error: Missing option '--budget'."),
    ],
)
def test_click_usage_errors_are_one_line(capsys, argv, message):
    code, out, err = _main(capsys, *argv)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), err
    assert "Traceback" not in err and "╭" not in err


def test_nasgen_errors_and_success_keep_their_exit_codes(capsys):
    code, _, err = _main(capsys, "profile", "efficientnet-b0", "--resolution", "16")
    expected = "error: resolution_px: resolution_px 16 is below the total stride 32 of the network"
    assert code == 2 and err.strip() == expected
    code, out, _ = _main(capsys, "profile", "efficientnet-b0")
    assert code == 0 and "385,814,752" in out


def test_version(capsys):
    from importlib.metadata import version

    code, out, _ = _main(capsys, "--version")
    assert code == 0 and out.strip() == f"nasgen {version('nasgen')}"
