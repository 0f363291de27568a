"""``--workers 2 --evaluator supernet``: one supernet trained by the parent, mapped (not copied) by every worker."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "supernet"))
from supernet_helpers import SMALL_SPACE, tiny_recipe  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

_HOLD = textwrap.dedent("""
    import re, sys
    from nasgen.supernet import load_supernet
    run = load_supernet(sys.argv[1])
    total = sum(p.numel() * p.element_size() for p in run.supernet.state_dict().values())  # touch every tensor
    rss = pss = 0
    inside = False
    for line in open("/proc/self/smaps"):
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            inside = "supernet.safetensors" in line
        elif inside and line.startswith(("Rss:", "Pss:")):
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
            else:
                pss += int(line.split()[1])
    print(total // 1024, rss, pss, flush=True)
    sys.stdin.readline()  # hold the mapping until told
""")


def _env() -> dict:
    import os

    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")])}


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux's /proc/<pid>/smaps")
def test_two_processes_share_one_copy_of_the_supernets_weights(tmp_path):
    from nasgen.data import load_dataset
    from nasgen.supernet import train_supernet

    train_supernet(SMALL_SPACE, load_dataset(), tiny_recipe(), tmp_path, seed=0)
    procs = []
    try:
        # one after the other: the second measures while the first holds its mapping (started together, the
        # second could read its smaps before the first had mapped the file, and see nothing shared)
        readings = []
        for _ in range(2):
            procs.append(subprocess.Popen([sys.executable, "-c", _HOLD, str(tmp_path)], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, text=True, env=_env()))  # fmt: skip
            readings.append([int(v) for v in procs[-1].stdout.readline().split()])
        first, second = readings
    finally:
        for proc in procs:
            proc.communicate("\n", timeout=60)
    tensors_kib, rss, pss = second
    assert rss >= 0.9 * tensors_kib  # the weights are the file's pages, resident in the process …
    assert pss <= 0.6 * rss  # … and shared with the other process (proportional share: half each)
    assert first[0] == tensors_kib


@pytest.mark.slow
def test_two_workers_score_with_the_parents_supernet(tmp_path):
    from nasgen.runs import open_run, worker_of
    from nasgen.search import search

    out = tmp_path / "run"
    result = search("60M", space=SMALL_SPACE, evaluator="supernet", supernet_recipe="quick", n_trials=8, out=out,
                    timeout=None, workers=2, devices="cpu", threads_per_worker=1, seed=0)  # fmt: skip
    run = open_run(out)
    scored = [r for r in run.records() if r.scored]
    assert scored and {r.evaluator for r in scored} == {"supernet"}
    assert len({worker_of(t)[1] for t in result.study.trials if t.user_attrs.get("val_top1") is not None}) == 2
    assert [p.name for p in out.iterdir() if p.name.startswith("supernet")] == ["supernet"]  # one, the parent's
