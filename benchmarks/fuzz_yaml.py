"""Fuzz ``nasgen validate`` with mutated YAML: every input must end cleanly, fast and small (issue 18).

Generates ``--count`` inputs (default 520) by mutating the EfficientNet-B0 spec and the efficientnet-v1
space (``tests/spec/yaml_mutations.py``: odd values, duplicated or deleted keys, deep nesting, alias bombs,
control bytes, truncation, indentation), runs ``nasgen validate FILE`` on each in a subprocess with a
timeout, measures its peak RSS (``RUSAGE_CHILDREN`` max RSS of that child) and prints the counts:

* clean: exit 0, or exit 2 with exactly one ``error:`` line and no traceback;
* tracebacks (any ``Traceback`` in the output), other failures (another exit code or several lines);
* over 5 s wall time, over 5 s of CPU (user + system of the child: on a shared, loaded machine the wall time
  is mostly waiting for a core), over 500 MB peak RSS.

Usage (from a source checkout, prefix ``PYTHONPATH=.:plugins``):
    python benchmarks/fuzz_yaml.py                   # 520 inputs, seed 0, 2 at a time
    python benchmarks/fuzz_yaml.py --count 100 --seed 3 --jobs 1 --keep runs/fuzz
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "spec"))

from yaml_mutations import mutate  # noqa: E402

SOURCES = {
    "b0": (ROOT / "nasgen" / "archs" / "efficientnet-b0.yaml").read_text(),
    "v1": (ROOT / "search_spaces" / "efficientnet-v1.yaml").read_text(),
}
_CLI = "import sys; from nasgen.cli import main; sys.argv[0] = 'nasgen'; main()"  # the console script's body
TIME_LIMIT_S = 5.0
RSS_LIMIT_MB = 500.0
HARD_TIMEOUT_S = 30.0

# ru_maxrss of RUSAGE_CHILDREN is the largest child so far, so each input runs in a fresh wrapper whose
# only child is `nasgen validate`; the wrapper prints that child's peak RSS (kB on Linux).
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "try:\n"
    "    p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=%r)\n"
    "    rc, out = p.returncode, p.stdout + p.stderr\n"
    "except subprocess.TimeoutExpired:\n"
    "    rc, out = 124, ''\n"
    "sys.stderr.write(out)\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(usage.ru_maxrss, usage.ru_utime + usage.ru_stime)\n"
    "sys.exit(rc)\n"
) % HARD_TIMEOUT_S


def _inputs(count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        name = rng.choice(sorted(SOURCES))
        text = mutate(SOURCES[name], rng, rng.randint(1, 4))
        out.append((f"{i:04d}-{name}.yaml", text))
    return out


def _run_one(path: Path) -> dict:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _WRAPPER, sys.executable, "-c", _CLI, "validate", str(path)],
        capture_output=True, text=True, errors="replace",
    )
    seconds = time.perf_counter() - start
    fields = proc.stdout.split()
    rss_mb, cpu_s = (int(fields[-2]) / 1024, float(fields[-1])) if len(fields) >= 2 else (float("nan"), float("nan"))
    output = proc.stderr
    lines = [line for line in output.splitlines() if line.strip()]
    error_lines = [line for line in lines if line.startswith("error: ")]
    traceback = "Traceback" in output
    clean = not traceback and (
        proc.returncode == 0 or (proc.returncode == 2 and len(error_lines) == 1 and len(lines) == 1)
    )
    return {"path": path, "rc": proc.returncode, "seconds": seconds, "cpu_s": cpu_s, "rss_mb": rss_mb, "clean": clean,
            "traceback": traceback, "first": lines[0][:160] if lines else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=520)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="write the inputs here (default: a temp dir)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="nasgen-fuzz-"))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in _inputs(args.count, args.seed):
        path = folder / name
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        paths.append(path)
    env_note = os.environ.get("PYTHONPATH", "")
    print(f"{len(paths)} inputs in {folder} (seed {args.seed}, PYTHONPATH={env_note!r}, {args.jobs} at a time)")
    start = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(_run_one, paths))
    counts = Counter()
    for r in results:
        counts["clean"] += r["clean"]
        counts["success (exit 0)"] += r["rc"] == 0
        counts["one error: line (exit 2)"] += r["clean"] and r["rc"] == 2
        counts["tracebacks"] += r["traceback"]
        counts["other unclean"] += not r["clean"] and not r["traceback"]
        counts[f"over {TIME_LIMIT_S:g} s"] += r["seconds"] > TIME_LIMIT_S
        counts[f"over {TIME_LIMIT_S:g} CPU s"] += r["cpu_s"] > TIME_LIMIT_S
        counts[f"over {RSS_LIMIT_MB:g} MB"] += r["rss_mb"] > RSS_LIMIT_MB
    for key in ("clean", "success (exit 0)", "one error: line (exit 2)", "tracebacks", "other unclean",
                f"over {TIME_LIMIT_S:g} s", f"over {TIME_LIMIT_S:g} CPU s", f"over {RSS_LIMIT_MB:g} MB"):
        print(f"{key:>26}: {counts[key]}")
    seconds = sorted(r["seconds"] for r in results)
    rss = sorted(r["rss_mb"] for r in results)
    cpu = sorted(r["cpu_s"] for r in results)
    print(f"{'wall s (median / max)':>26}: {seconds[len(seconds) // 2]:.2f} / {seconds[-1]:.2f}")
    print(f"{'CPU s (median / max)':>26}: {cpu[len(cpu) // 2]:.2f} / {cpu[-1]:.2f}")
    print(f"{'peak RSS MB (median / max)':>26}: {rss[len(rss) // 2]:.0f} / {rss[-1]:.0f}")
    print(f"{'total wall s':>26}: {time.perf_counter() - start:.0f}")
    bad = [r for r in results if not r["clean"] or r["seconds"] > TIME_LIMIT_S or r["rss_mb"] > RSS_LIMIT_MB]
    for r in bad[:20]:
        print(f"  {r['path'].name}: rc {r['rc']}, {r['seconds']:.1f} s, {r['rss_mb']:.0f} MB: {r['first']}")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
