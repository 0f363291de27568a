"""Hostile image data through ``nasgen train`` in subprocesses: exit code, time and peak memory per case (issue 30).

The cases of ``tests/data/hostile_images.py`` (a truncated JPEG, a zero-byte file, text named .png, a JPEG header
claiming 65,000 x 65,000 px, a bad row of a path,label list, one image per class, a 40,000 x 40,000 px PNG bomb,
a 1,000-frame GIF, a 1 x 1 px image, a 12,000 x 2 px sliver, symbolic links that loop or leave the tree), each
beside a clean tree of the same size, run one at a time as
``nasgen train tiny.yaml --data … --epochs 1 --batch-size 8`` with the default decode workers, under a CPU-time
limit (``RLIMIT_CPU`` = 120 s, so a runaway decode is killed rather than waited for) and a 120 s wall timeout.

Printed per case: exit code, whether the output is clean (exit 0 with the expected note, or exit 2 with exactly
one ``error:`` line, no traceback), wall and CPU seconds, and the peak RSS of the largest process (``nasgen``
or one of its decode workers; ``RUSAGE_CHILDREN`` of a wrapper whose only child is ``nasgen``) with its growth
over the clean tree's run. Targets: every case clean, under 60 s and 1 GB (the clean run's peak, ~1 GB, is
mostly torch's own libraries: ``import torch`` alone is ~0.8 GB of RSS here).

    python benchmarks/fuzz_data.py            # every case, ~2 minutes on 2 cores
    python benchmarks/fuzz_data.py --case bomb --case gif
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "data"))

from hostile_images import CASES, Case, tree

TINY = (
    "name: tiny\nin_channels: 3\nresolution_px: 32\nstem: {out_channels: 8, kernel_size: 3, stride: 2}\n"
    "stages:\n- {kind: mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: 2, out_channels: 16}\n"
    "head_channels: 16\nnum_classes: 2\n"
)
CPU_LIMIT_S = 120
WALL_LIMIT_S = 120.0
_CLI = "import sys; from nasgen.cli import main; sys.argv[0] = 'nasgen'; main()"  # the console script's body
# ru_maxrss of RUSAGE_CHILDREN is the largest descendant waited for, so each case runs in a fresh wrapper whose
# only child is `nasgen train`; it prints that child's (and its decode workers') peak RSS in kB and CPU seconds.
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "def limit():\n"
    "    resource.setrlimit(resource.RLIMIT_CPU, (%d, %d))\n"
    "try:\n"
    "    p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=%r, preexec_fn=limit)\n"
    "    rc, out = p.returncode, p.stdout + p.stderr\n"
    "except subprocess.TimeoutExpired:\n"
    "    rc, out = 124, ''\n"
    "sys.stderr.write(out)\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(usage.ru_maxrss, usage.ru_utime + usage.ru_stime)\n"
    "sys.exit(rc)\n"
) % (CPU_LIMIT_S, CPU_LIMIT_S + 5, WALL_LIMIT_S)


def _clean(case: Case, rc: int, output: str) -> bool:
    if "Traceback" in output or rc != case.exit_code:
        return False
    flat = " ".join(output.split())
    if rc == 2:
        return sum(line.startswith("error:") for line in output.splitlines()) == 1 and case.says in flat
    return case.says in flat


def run_case(case: Case, tmp: Path) -> dict:
    """Build ``case`` in ``tmp`` and train on it in a subprocess; its figures (see the module docstring)."""
    tmp.mkdir(parents=True, exist_ok=True)
    data = case.build(tmp)
    (tmp / "tiny.yaml").write_text(TINY)
    command = [sys.executable, "-c", _CLI, "train", str(tmp / "tiny.yaml"), "--data", str(data), "--epochs", "1",
               "--batch-size", "8", "--out", str(tmp / "run"), "--device", "cpu", *case.args]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins"),
                                                         os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *command], capture_output=True, text=True,
                          errors="replace", env=env)  # fmt: skip
    wall = time.perf_counter() - start
    fields = proc.stdout.split()
    rss_kb, cpu = (int(fields[-2]), float(fields[-1])) if len(fields) >= 2 else (0, float("nan"))
    return {"case": case.name, "exit": proc.returncode, "clean": _clean(case, proc.returncode, proc.stderr),
            "wall_s": wall, "cpu_s": cpu, "rss_mb": rss_kb / 1024, "output": proc.stderr}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", default=[], help="a word of the case names to run (repeatable)")
    args = parser.parse_args()
    chosen = [c for c in CASES if not args.case or any(word in c.name for word in args.case)]
    print(f"{len(chosen)} cases; load {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        base = run_case(Case("clean tree", lambda tmp: tree(tmp / "data"), 0, "val top-1"), Path(folder) / "clean")
        print(f"  {'clean tree':32s} exit {base['exit']}  {base['wall_s']:5.1f} s wall {base['cpu_s']:5.1f} s CPU  "
              f"{base['rss_mb']:6.0f} MB peak", flush=True)
        worst = {"wall_s": 0.0, "cpu_s": 0.0, "growth_mb": 0.0}
        bad = 0
        for index, case in enumerate(chosen):
            figures = run_case(case, Path(folder) / f"case{index}")
            growth = figures["rss_mb"] - base["rss_mb"]
            bad += not figures["clean"]
            worst = {"wall_s": max(worst["wall_s"], figures["wall_s"]), "cpu_s": max(worst["cpu_s"], figures["cpu_s"]),
                     "growth_mb": max(worst["growth_mb"], growth)}  # fmt: skip
            print(f"  {case.name:32s} exit {figures['exit']} {'clean' if figures['clean'] else 'NOT CLEAN'}  "
                  f"{figures['wall_s']:5.1f} s wall {figures['cpu_s']:5.1f} s CPU  {figures['rss_mb']:6.0f} MB peak "
                  f"({growth:+.0f} MB)", flush=True)
            if not figures["clean"]:
                print("    " + "\n    ".join(figures["output"].splitlines()[-6:]))
    print(f"{len(chosen) - bad}/{len(chosen)} clean; worst {worst['wall_s']:.1f} s wall, {worst['cpu_s']:.1f} s CPU, "
          f"{worst['growth_mb']:+.0f} MB over the clean run ({base['rss_mb']:.0f} MB); load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
