"""The GPU figures of docs/gpu.md, measured in one run (issue 29); ``scripts/gpu_check.sh`` calls it.

Sections, in this order (the cheap ones first, so a run cut short by its time limit still brings most back):

- ``tests``: ``pytest -m gpu tests/gpu`` — passed, failed, skipped, and the names of the failures;
- ``throughput``: EfficientNet-B0 training steps at 224 px, batch 128, nasgen's ``build_model`` beside
  torchvision's ``efficientnet_b0`` in this process, both under the GPU recipe's numerics (bf16 autocast,
  channels_last, fused AdamW, nasgen's optimizer groups); warm-up steps, then timed steps between two
  ``torch.cuda.synchronize``; the two models alternate over rounds and each keeps its best round (images/s);
- ``proxy``: ``evaluate_proxy`` of B0 on the embedded data under ``GPU_PROXY`` (64 px) with bf16 autocast and in
  float32, 2 seeds each, interleaved: wall time and validation top-1;
- ``latency``: the latency table's predicted vs measured inference time at batch 1 on 10 architectures of the
  ``efficientnet-v1`` space (calibrated first on 3 others, as ``benchmarks/latency_model.py`` does on the CPU);
- ``search``: the GPU main job, ``nasgen search --budget 400M --timeout 300`` in a subprocess: trials by state,
  the best trial, wall time.

Every figure is printed and written to ``OUT/gpu_figures.json`` when its section ends, with the environment
(GPU, driver, torch, CUDA, date). ``--dry-run`` runs the same code on the CPU at tiny sizes (32 px, batch 4, a
few steps, a 1-trial search on 200 images) to prove the path in under 2 minutes; its figures are no evidence.
``--render FILE`` prints the Markdown table of docs/gpu.md from a figures file.

    python benchmarks/gpu_figures.py --out DIR [--dry-run] [--sections tests,throughput,proxy,latency,search]
    python benchmarks/gpu_figures.py --render DIR/gpu_figures.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from gpu_table import environment, render, summary_line

ROOT = Path(__file__).resolve().parents[1]
#: When the check started (scripts/gpu_check.sh exports it, so its install steps count against the deadline).
START = float(os.environ.get("NASGEN_GPU_CHECK_START") or time.time())
SECTIONS = ("tests", "throughput", "proxy", "latency", "search")
FIGURES = "gpu_figures.json"


@dataclass(frozen=True)
class Sizes:
    """How big each section runs: the real figures on a GPU, or the dry run's tiny sizes on the CPU."""

    device: str = "cuda"
    proxy_epochs: int | None = None  # None: GPU_PROXY's own recipe, unchanged
    proxy_images: int | None = None
    proxy_val_images: int | None = None
    proxy_batch: int | None = None
    proxy_px: int | None = None
    seeds: tuple[int, ...] = (0, 1)
    step_px: int = 224
    step_batch: int = 128
    warmup_steps: int = 10
    timed_steps: int = 30
    rounds: int = 2
    latency_archs: int = 10
    latency_calibration: int = 3
    latency_max_px: int = 224
    search_args: tuple[str, ...] = ("--budget", "400M")
    search_timeout_s: int = 300  # the main job's --timeout, cut to what the deadline leaves
    search_data_images: int | None = None  # the dry run's search trains on an .npz of this many embedded images
    test_args: tuple[str, ...] = ("-m", "gpu", "tests/gpu")
    tests_timeout_s: int = 300
    deadline_s: float | None = 480.0  # the whole check, from scripts/gpu_check.sh's start (8 minutes)


FULL = Sizes()
DRY = Sizes(
    device="cpu", proxy_epochs=1, proxy_images=32, proxy_val_images=50, proxy_batch=16, proxy_px=32,
    step_px=32, step_batch=4, warmup_steps=1, timed_steps=2, rounds=1, latency_archs=2, latency_calibration=1,
    latency_max_px=32,
    search_args=("--budget", "400M", "--n-trials", "1", "--epochs", "1", "--images-per-epoch", "32", "--batch-size",
                 "16", "--enqueue", "efficientnet-b0"),
    search_timeout_s=90, search_data_images=200, tests_timeout_s=120, deadline_s=None,
)  # fmt: skip


@dataclass
class Figures:
    """Everything the run measured, written to ``OUT/gpu_figures.json`` after each section."""

    out: Path
    dry_run: bool
    environment: dict = field(default_factory=dict)
    sections: dict = field(default_factory=dict)

    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        tmp = self.out / f".{FIGURES}.tmp"
        data = {"dry_run": self.dry_run, "environment": self.environment, "sections": self.sections}
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=str), encoding="utf-8")
        tmp.replace(self.out / FIGURES)


# -- tests ---------------------------------------------------------------------------------------
def section_tests(sizes: Sizes, out: Path) -> dict:
    """``pytest -m gpu`` in a subprocess; counts read from its JUnit XML."""
    xml = out / "gpu_tests.xml"
    cmd = [sys.executable, "-m", "pytest", *sizes.test_args, "-q", "-rs", "-p", "no:cacheprovider",
           f"--junitxml={xml}"]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, timeout=sizes.tests_timeout_s)
    seconds = time.perf_counter() - start
    print(proc.stdout[-4000:], proc.stderr[-2000:], sep="\n", flush=True)
    suite = ElementTree.parse(xml).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    failed = [f"{case.get('classname')}::{case.get('name')}" for case in suite.iter("testcase")
              if case.find("failure") is not None or case.find("error") is not None]  # fmt: skip
    reasons = sorted({s.get("message", "") for s in suite.iter("skipped")})
    passed = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return {"exit_code": proc.returncode, "collected": counts["tests"], "passed": passed,
            "failed": counts["failures"] + counts["errors"], "skipped": counts["skipped"], "failures": failed,
            "skip_reasons": reasons, "seconds": round(seconds, 1)}  # fmt: skip


# -- throughput ----------------------------------------------------------------------------------
def section_throughput(sizes: Sizes, out: Path) -> dict:
    """Training images/s of nasgen's and torchvision's B0 side by side, same numerics."""
    import torch
    import torchvision

    from nasgen.nn import build_model
    from nasgen.spec import load_spec
    from nasgen.train import GPU_PROXY, autocast_dtype

    device = torch.device(sizes.device)
    dtype = autocast_dtype(device, GPU_PROXY.bf16)
    memory_format = torch.channels_last if GPU_PROXY.channels_last else torch.contiguous_format
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        models = {"nasgen": build_model(load_spec("efficientnet-b0")),
                  "torchvision": torchvision.models.efficientnet_b0()}
    params = {name: sum(p.numel() for p in m.parameters()) for name, m in models.items()}
    runs: dict[str, list[float]] = {name: [] for name in models}
    peak: dict[str, float | None] = dict.fromkeys(models)
    for round_index in range(sizes.rounds):
        order = list(models) if round_index % 2 == 0 else list(models)[::-1]
        for name in order:
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            runs[name].append(_images_per_second(models[name], sizes, device, dtype, memory_format))
            peak[name] = _peak_memory_gib(device)
    best = {name: max(values) for name, values in runs.items()}
    return {"resolution_px": sizes.step_px, "batch": sizes.step_batch, "autocast": str(dtype or torch.float32),
            "channels_last": GPU_PROXY.channels_last, "warmup_steps": sizes.warmup_steps,
            "timed_steps": sizes.timed_steps, "rounds": runs, "images_per_second": best, "params": params,
            "nasgen_over_torchvision": best["nasgen"] / best["torchvision"],
            "peak_memory_gib": peak}  # fmt: skip


def _images_per_second(model, sizes: Sizes, device, dtype, memory_format) -> float:
    import torch
    import torch.nn.functional as F

    from nasgen.train import GPU_PROXY
    from nasgen.train._optim import make_optimizer

    model = model.to(device, memory_format=memory_format).train()
    optimizer = make_optimizer(model, GPU_PROXY)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(sizes.step_batch, 3, sizes.step_px, sizes.step_px, generator=generator)
    x = x.to(device).contiguous(memory_format=memory_format)
    y = torch.randint(0, 1000, (sizes.step_batch,), generator=generator).to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def step() -> None:
        with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            loss = F.cross_entropy(model(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        for _ in range(sizes.warmup_steps):
            step()
        sync()
        start = time.perf_counter()
        for _ in range(sizes.timed_steps):
            step()
        sync()
    model.to("cpu")
    return sizes.timed_steps * sizes.step_batch / (time.perf_counter() - start)


def _peak_memory_gib(device) -> float | None:
    import torch

    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if device.type == "cuda" else None


# -- proxy ---------------------------------------------------------------------------------------
def proxy_config(sizes: Sizes):
    """``GPU_PROXY``, or for the dry run a tiny version of it (same code path, fewer images and pixels)."""
    from nasgen.train import GPU_PROXY

    changes = {"epochs": sizes.proxy_epochs, "images_per_epoch": sizes.proxy_images,
               "val_images": sizes.proxy_val_images, "batch_size": sizes.proxy_batch, "resolution_px": sizes.proxy_px}
    return GPU_PROXY.replace(**{k: v for k, v in changes.items() if v is not None})  # fmt: skip


def section_proxy(sizes: Sizes, out: Path) -> dict:
    """B0's proxy under the GPU recipe, bf16 autocast vs float32, seeds interleaved."""
    import torch

    from nasgen.data import load_dataset
    from nasgen.spec import load_spec
    from nasgen.train import autocast_dtype, estimate_proxy_seconds, evaluate_proxy

    spec, data, base = load_spec("efficientnet-b0"), load_dataset(), proxy_config(sizes)
    device = torch.device(sizes.device)
    estimates = {}
    for bf16 in (True, False):  # also the warm-up: cuDNN's algorithm choice, the allocator, the resize cache
        estimates[_numerics(bf16)] = estimate_proxy_seconds(spec, data, base.replace(bf16=bf16), device=device)[1]
    runs = []
    for seed in sizes.seeds:
        for bf16 in (True, False):
            result = evaluate_proxy(spec, data, base.replace(bf16=bf16), seed=seed, device=device)
            runs.append({"numerics": _numerics(bf16), "autocast": str(autocast_dtype(device, bf16) or torch.float32),
                         "seed": seed, "val_top1": result.val_top1, "seconds": round(result.train_seconds, 2),
                         "images_per_second": round(result.images_per_second, 1),
                         "resolution_px": int(result.history[-1]["resolution_px"])})  # fmt: skip
    summary = {}
    for numerics in ("bf16", "fp32"):
        mine = [r for r in runs if r["numerics"] == numerics]
        summary[numerics] = {"val_top1_mean": statistics.mean(r["val_top1"] for r in mine),
                             "val_top1_per_seed": [r["val_top1"] for r in mine],
                             "seconds_mean": statistics.mean(r["seconds"] for r in mine),
                             "estimated_seconds": round(estimates[numerics], 2)}  # fmt: skip
    recipe = base.model_dump(include={"epochs", "batch_size", "resolution_px", "lr", "images_per_epoch"})
    return {"recipe": recipe, "runs": runs, "summary": summary,
            "fp32_over_bf16_seconds": summary["fp32"]["seconds_mean"] / summary["bf16"]["seconds_mean"]}


def _numerics(bf16: bool) -> str:
    return "bf16" if bf16 else "fp32"


# -- latency -------------------------------------------------------------------------------------
def section_latency(sizes: Sizes, out: Path) -> dict:
    """Predicted vs measured inference latency (batch 1) on sampled ``efficientnet-v1`` architectures."""
    from nasgen.cost import calibrate, predict_latency
    from nasgen.nn import latency_table, measure_latency
    from nasgen.space import load_space

    space = load_space("efficientnet-v1")

    def arch(i: int):
        spec = space.sample(i, num_classes=1000, in_channels=3)
        return spec.replace(resolution_px=min(spec.resolution_px, sizes.latency_max_px))

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nasgen-gpu-latency-") as folder:
        table = latency_table(sizes.device, folder=Path(folder))
        calibrate(table, [arch(1000 + k) for k in range(sizes.latency_calibration)], mode="infer", batch=1)
        specs = [arch(i) for i in range(sizes.latency_archs)]
        predicted = [predict_latency(spec, table).total_ms for spec in specs]
        first = [measure_latency(spec, device=sizes.device) for spec in specs]  # two passes, the faster kept
        measured = [min(a, measure_latency(spec, device=sizes.device)) for spec, a in zip(specs, first, strict=True)]
    rows = [{"arch": i, "resolution_px": spec.resolution_px, "display": " ".join(spec.display()), "predicted_ms": p,
             "measured_ms": m, "error_percent": 100 * (p - m) / m}
            for i, (spec, p, m) in enumerate(zip(specs, predicted, measured, strict=True))]  # fmt: skip
    errors = sorted(abs(r["error_percent"]) for r in rows)
    return {"space": "efficientnet-v1", "batch": 1, "n_archs": len(rows), "rows": rows,
            "median_abs_error_percent": statistics.median(errors),
            "p90_abs_error_percent": errors[min(len(errors) - 1, round(0.9 * (len(errors) - 1)))],
            "calibration_factor": table.factor("infer", 1), "per_part_ms": table.per_part_ms("infer", 1),
            "parts_measured": table.measured, "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip


# -- search --------------------------------------------------------------------------------------
def section_search(sizes: Sizes, out: Path) -> dict:
    """``nasgen search`` as a user runs it (a subprocess), then its run directory read back."""
    import nasgen

    with tempfile.TemporaryDirectory(prefix="nasgen-gpu-search-") as folder:
        timeout = search_timeout(sizes)
        run_dir, args = Path(folder) / "run", [*sizes.search_args, "--timeout", str(timeout)]
        if sizes.search_data_images:
            args += ["--data", str(_small_npz(Path(folder) / "data.npz", sizes.search_data_images))]
        cmd = [sys.executable, "-c", "from nasgen.cli import main; main()", "search", *args, "--out", str(run_dir)]
        start = time.perf_counter()
        with (out / "search.log").open("w", encoding="utf-8") as log:
            code = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False,
                                  timeout=timeout + 180).returncode  # the limit plus one epoch and the report
        wall = time.perf_counter() - start
        for name in ("best.yaml", "leaderboard.csv"):
            if (run_dir / name).is_file():
                shutil.copyfile(run_dir / name, out / f"search_{name}")
        run = nasgen.open_run(run_dir)
        records = run.records()
        best = run.best()
    states: dict[str, int] = {}
    for record in records:
        states[record.state] = states.get(record.state, 0) + 1
    trained = [r for r in records if r.train_seconds]
    return {"command": "nasgen search " + " ".join(args), "exit_code": code, "wall_seconds": round(wall, 1),
            "timeout_s": timeout, "timeout_cut_by_deadline": timeout < sizes.search_timeout_s,
            "trials": len(records), "states": states, "devices": sorted({r.device for r in trained}),
            "mean_train_seconds": statistics.mean(r.train_seconds for r in trained) if trained else None,
            "best": None if best is None else {"trial": best.number, "val_top1": best.val_top1, "macs": best.macs,
                                               "params": best.params, "proxy_px": best.proxy_px,
                                               "display": best.display}}  # fmt: skip


def search_timeout(sizes: Sizes, now: float | None = None) -> int:
    """The main job's ``--timeout`` (s): ``sizes.search_timeout_s``, or less when the check's deadline is nearer
    (a minute kept for the report and the rest).

    Raises:
        RuntimeError: Less than 2 minutes left: the main job is not started.
    """
    if sizes.deadline_s is None:
        return sizes.search_timeout_s
    left = sizes.deadline_s - ((time.time() if now is None else now) - START)
    if left < 120:
        raise RuntimeError(f"{left:.0f} s left of the check's {sizes.deadline_s:.0f} s: the main job was not run")
    return min(sizes.search_timeout_s, int(left - 60))


def _small_npz(path: Path, n: int) -> Path:
    import numpy as np

    from nasgen.data import load_dataset

    data = load_dataset()
    index = np.sort(np.random.default_rng(0).choice(len(data.labels), n, replace=False))
    np.savez(path, images=data.images[index, :, :, 0], labels=data.labels[index])
    return path


RUNNERS = {"tests": section_tests, "throughput": section_throughput, "proxy": section_proxy,
           "latency": section_latency, "search": section_search}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or ROOT / "gpu-figures"))
    parser.add_argument("--dry-run", action="store_true", help="the same code on the CPU at tiny sizes (< 2 min)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, of {', '.join(SECTIONS)}")
    parser.add_argument("--render", type=Path, help="print the docs table of this figures file and exit")
    args = parser.parse_args(argv)
    if args.render:
        print(render(json.loads(args.render.read_text(encoding="utf-8"))))
        return 0
    import torch

    names = [n.strip() for n in args.sections.split(",") if n.strip()]
    if unknown := [n for n in names if n not in RUNNERS]:
        print(f"error: --sections: unknown {', '.join(unknown)} (known: {', '.join(SECTIONS)})", file=sys.stderr)
        return 2
    if not args.dry_run and not torch.cuda.is_available():
        print("error: no CUDA device (torch.cuda.is_available() is False); on a CPU machine use --dry-run",
              file=sys.stderr)
        return 2
    sizes = DRY if args.dry_run else FULL
    if args.dry_run:  # a shared CPU: 2 OpenMP threads wait on each other's stalls (docs/hardware.md), 1 does not
        torch.set_num_threads(1)
        os.environ.setdefault("OMP_NUM_THREADS", "1")  # the pytest and search subprocesses
    figures = Figures(args.out, args.dry_run, environment(sizes.device, args.dry_run))
    figures.sections["sizes"] = asdict(sizes)
    figures.save()
    print("environment: " + json.dumps(figures.environment), flush=True)
    ok = True
    for name in names:
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            result = RUNNERS[name](sizes, args.out)
        except Exception as exc:  # noqa: BLE001 - one section's failure must not cost the others' figures
            result = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]}
        result["section_seconds"] = round(time.perf_counter() - start, 1)
        ok = ok and "error" not in result and result.get("exit_code", 0) == 0
        figures.sections[name] = result
        figures.save()
        print(summary_line(name, result), flush=True)
    table = render({"environment": figures.environment, "sections": figures.sections})
    (args.out / "gpu_figures.md").write_text(table + "\n", encoding="utf-8")
    print(table, flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
