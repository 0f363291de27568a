"""The environment header and the table of docs/gpu.md's figures, rendered from ``gpu_figures.json``
(``benchmarks/gpu_figures.py`` measures them).

    python benchmarks/gpu_figures.py --render OUT/gpu_figures.json   # paste the output into docs/gpu.md
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path


def environment(device: str, dry_run: bool) -> dict:
    """GPU, driver, torch, CUDA, cuDNN, date, host: the header of the figures table."""
    import torch
    import torchvision

    cuda = device == "cuda"
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "device": device, "dry_run": dry_run,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "gpu_memory_gib": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1) if cuda else None,
        "driver": _nvidia_smi("driver_version"), "torch": torch.__version__, "torchvision": torchvision.__version__,
        "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version() if cuda else None,
        "python": platform.python_version(), "cpu": _cpu_name(), "threads": torch.get_num_threads(),
        "load_average": [round(v, 2) for v in os.getloadavg()], "commit": _git_commit(),
    }  # fmt: skip


def _nvidia_smi(query: str) -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=30, check=True).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip().splitlines()[0] if out.strip() else None


def _cpu_name() -> str:
    from nasgen.cost import device_key

    return device_key("cpu")["device_name"]


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True,
                             timeout=10, check=False)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


#: The rows of docs/gpu.md's figures table, in order; :func:`render` fills them from a figures file.
ROWS = (
    "GPU", "driver", "torch / CUDA / cuDNN", "date", "commit", "`pytest -m gpu`",
    "B0 proxy, bf16 autocast: top-1 per seed", "B0 proxy, bf16 autocast: wall time per run",
    "B0 proxy, float32: top-1 per seed", "B0 proxy, float32: wall time per run",
    "B0 training, nasgen", "B0 training, torchvision", "nasgen / torchvision",
    "latency table vs measured, median abs. error", "main job (`nasgen search --budget 400M --timeout 300`)",
)


def render(data: dict) -> str:
    """The Markdown table of docs/gpu.md (:data:`ROWS`) from a figures file's contents."""
    env, sec = data.get("environment", {}), data.get("sections", {})
    values = dict.fromkeys(ROWS, "not measured")
    if env:
        values.update({"GPU": f"{env.get('gpu')} ({env.get('gpu_memory_gib')} GiB)" if env.get("gpu") else "none (CPU)",
                       "driver": str(env.get("driver")),
                       "torch / CUDA / cuDNN": f"{env.get('torch')} / {env.get('cuda')} / {env.get('cudnn')}",
                       "date": str(env.get("date")), "commit": str(env.get("commit"))})  # fmt: skip
    if "passed" in sec.get("tests", {}):
        t = sec["tests"]
        values["`pytest -m gpu`"] = (f"{t['passed']} passed, {t['failed']} failed, {t['skipped']} skipped "
                                     f"({t['seconds']} s)")
    if "summary" in sec.get("proxy", {}):
        p = sec["proxy"]
        for numerics, label in (("bf16", "bf16 autocast"), ("fp32", "float32")):
            s = p["summary"][numerics]
            seeds = ", ".join(f"{100 * v:.2f} %" for v in s["val_top1_per_seed"])
            values[f"B0 proxy, {label}: top-1 per seed"] = f"{seeds} (mean {100 * s['val_top1_mean']:.2f} %)"
            values[f"B0 proxy, {label}: wall time per run"] = (
                f"{s['seconds_mean']:.1f} s ({p['recipe']['epochs']} epochs, {p['recipe']['resolution_px']} px)")
    if "images_per_second" in sec.get("throughput", {}):
        t = sec["throughput"]
        how = f"{t['resolution_px']} px, batch {t['batch']}, {t['autocast']}, channels_last={t['channels_last']}"
        for name in ("nasgen", "torchvision"):
            values[f"B0 training, {name}"] = f"{t['images_per_second'][name]:,.0f} images/s ({how})"
        values["nasgen / torchvision"] = f"{t['nasgen_over_torchvision']:.3f}"
    if "median_abs_error_percent" in sec.get("latency", {}):
        lat = sec["latency"]
        values["latency table vs measured, median abs. error"] = (
            f"{lat['median_abs_error_percent']:.1f} % (90th percentile {lat['p90_abs_error_percent']:.1f} %, "
            f"{lat['n_archs']} archs, batch 1)")
    if "trials" in sec.get("search", {}):
        s = sec["search"]
        states = ", ".join(f"{n} {state}" for state, n in sorted(s["states"].items()))
        best = s["best"] and f"; best {100 * s['best']['val_top1']:.2f} % at {s['best']['macs'] / 1e6:.1f}M MACs"
        values["main job (`nasgen search --budget 400M --timeout 300`)"] = (
            f"{s['trials']} trials ({states}) in {s['wall_seconds']:.0f} s{best or ''}"
            + (f" (--timeout cut to {s['timeout_s']} s by the 8-minute deadline)" if s.get("timeout_cut_by_deadline")
               else ""))
    lines = ["| figure | value |", "| --- | --- |"] + [f"| {row} | {values[row]} |" for row in ROWS]
    return "\n".join(lines)


def summary_line(name: str, result: dict) -> str:
    """One printed line of a section's headline figures (or its error)."""
    if "error" in result:
        return f"{name}: ERROR {result['error']}"
    keys = {"tests": ("passed", "failed", "skipped"), "throughput": ("images_per_second", "nasgen_over_torchvision"),
            "proxy": ("summary", "fp32_over_bf16_seconds"),
            "latency": ("median_abs_error_percent", "p90_abs_error_percent"),
            "search": ("trials", "states", "wall_seconds", "best")}[name]  # fmt: skip
    return f"{name}: " + json.dumps({k: result.get(k) for k in keys}, default=str)
