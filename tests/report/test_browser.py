"""report.html in a real browser: headless Chromium renders it offline, with no console message, to a
screenshot that is not blank and shows the figures."""

from __future__ import annotations

import shutil
import subprocess

import matplotlib.image
import numpy as np
import pytest

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian package `chromium`; .ci/run installs it)",
)


def _chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr", "--v=0",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # nothing resolves: a page that fetched anything would show it
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    url = (run_dir / "report.html").resolve().as_uri()
    shot = tmp_path / "report.png"
    done = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", url)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _console_lines(done.stderr) == []
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1280)
    assert pixels.var() > 0.01  # not a blank page
    # the first figure decoded and drew: the trials' blue (#1f77b4) and the front's orange (#ff7f0e) are on screen
    for rgb in ((0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)):
        near = np.abs(pixels - np.array(rgb) / 255).max(axis=-1) < 0.08
        assert near.sum() > 200, rgb


def test_dom_has_the_tables_and_no_console_message(run_dir, tmp_path):
    done = _chromium(tmp_path, "--dump-dom", (run_dir / "report.html").resolve().as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert _console_lines(done.stderr) == []
    dom = done.stdout
    assert 'id="leaderboard-table"' in dom and 'id="facts-list"' in dom
    assert dom.count('src="data:image/png;base64,') == 4


def test_console_errors_are_caught(tmp_path):
    # the check above can fail: a page with a script error shows up in the log
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>undefinedFunction();</script></body></html>", encoding="utf-8")
    done = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert any("undefinedFunction" in line for line in _console_lines(done.stderr))
