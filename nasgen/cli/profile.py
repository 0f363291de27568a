"""``nasgen profile``: params, MACs, activation memory and a per-stage table of one architecture."""

from __future__ import annotations

import json
from typing import Any, Optional

import typer

from nasgen.cli._common import console, err_console, user_errors

_HELP = (
    "Print the cost of an architecture: params, MACs, FLOPs, activation memory and a per-stage table.\n\n"
    "ARCH is a YAML/JSON architecture file or a built-in name (efficientnet-b0, efficientnetv2-s, ...). "
    "MACs are multiply-accumulates of Conv2d and Linear layers only (conv: C_out*C_in/groups*k*k*H_out*W_out, "
    "linear: in*out) at batch 1, as the EfficientNet papers count 'FLOPS' (B0: 0.39B); BatchNorm, activations, "
    "pooling, the SE multiply and residual adds are not counted. FLOPs are shown as 2 x MACs. Params are all "
    "trainable parameters, BatchNorm affine included. Activation memory is the size of every layer output of "
    "one inference forward pass (input excluded) at the batch size, 4 bytes per element unless told otherwise."
)


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(size) for size in shape)


def _payload(spec: Any, report: Any, graph_hash: str, measured: Any) -> dict[str, Any]:
    def part(cost: Any) -> dict[str, Any]:
        return {"params": cost.params, "macs": cost.macs, "activation_bytes": cost.activation_bytes,
                "output_shape": list(cost.output_shape)}

    data: dict[str, Any] = {
        "name": spec.name,
        "hash": spec.content_hash(),
        "graph_hash": graph_hash,
        "resolution_px": report.resolution_px,
        "params": report.params,
        "macs": report.macs,
        "flops": report.flops,
        "activation_bytes": report.activation_bytes,
        "batch_size": report.batch_size,
        "dtype_bytes": report.dtype_bytes,
        "stem": part(report.stem),
        "stages": [{"index": s.index, "kind": s.kind, "display": s.display, **part(s)} for s in report.stages],
        "head": part(report.head),
    }
    if measured is not None:
        agrees = (measured.macs, measured.params) == (report.macs, report.params)
        data["measured"] = {"macs": measured.macs, "params": measured.params, "agrees": agrees}
    return data


def _print_report(spec: Any, report: Any, graph_hash: str) -> None:
    from rich.table import Table

    from nasgen.units import format_bytes, format_count

    title = spec.name or spec.short_hash()
    console.print(f"[bold]{title}[/] at {report.resolution_px} px, {spec.num_blocks} blocks", highlight=False)
    console.print(f"params       {report.params:,} ({format_count(report.params)})", highlight=False)
    console.print(f"MACs         {format_count(report.macs)} ({report.macs:,})", highlight=False)
    console.print(f"FLOPs        {format_count(report.flops)} (2 x MACs)", highlight=False)
    console.print(
        f"activations  {format_bytes(report.activation_bytes)} ({report.activation_bytes:,} bytes; batch "
        f"{report.batch_size}, {report.dtype_bytes} bytes/element)",
        highlight=False,
    )
    console.print(f"graph hash   {graph_hash}", highlight=False)
    table = Table(show_edge=False, pad_edge=False)
    for column, justify in (("stage", "left"), ("block", "left"), ("output", "right"), ("params", "right"),
                            ("MACs", "right"), ("% MACs", "right")):
        table.add_column(column, justify=justify, no_wrap=column != "block")
    rows = [("stem", f"conv k{spec.stem.kernel_size} s{spec.stem.stride}", report.stem)]
    rows += [(str(s.index), s.display, s) for s in report.stages]
    rows.append(("head", "conv 1x1, pool, linear", report.head))
    for stage, block, cost in rows:
        share = 100 * cost.macs / report.macs if report.macs else 0.0
        table.add_row(stage, block, _shape(cost.output_shape), f"{cost.params:,}", format_count(cost.macs),
                      f"{share:.1f}")
    console.print(table)


def _measure(spec: Any, report: Any) -> Any:
    from nasgen.cost import measure_cost
    from nasgen.nn import build_model

    return measure_cost(build_model(spec), report.resolution_px, spec.in_channels)


def _latency(spec: Any, report: Any, device: str, batch: int, resolution: int | None,
             budget_s: float | None) -> dict[str, Any]:
    from nasgen.cost import LatencyTable, TimingBudget, device_key, predict_latency
    from nasgen.errors import SpecError
    from nasgen.nn import ModuleTimer

    if batch < 1:
        raise SpecError(f"must be a positive integer, got {batch}", path="--step-batch", value=batch)
    key = device_key(device)
    table = LatencyTable(key, ModuleTimer())
    step_px = resolution or report.resolution_px
    # progress for a person watching (a terminal), as the training bar; a pipe or a log gets the JSON alone
    budget = TimingBudget(budget_s, on_progress=_progress_line if err_console.is_terminal else None)
    infer = predict_latency(spec, table, mode="infer", batch=1, resolution_px=report.resolution_px, budget=budget)
    train = predict_latency(spec, table, mode="train", batch=batch, resolution_px=step_px, budget=budget)
    latency_ms, latency_skip = _measured(spec, infer, budget, device, 1, report.resolution_px)
    step_ms, step_skip = _measured(spec, train, budget, device, batch, step_px)
    times = {
        "latency_predicted_ms": infer.total_ms,
        "latency_measured_ms": latency_ms,
        "step_time_predicted_ms": train.total_ms,
        "step_time_measured_ms": step_ms,
        "latency_calibration": infer.factor,
        "step_calibration": train.factor,
        "step_batch": batch,
        "step_resolution_px": step_px,
        "device": key["device_name"],
        "threads": key["threads"],
        "latency_table": str(table.path),
        "latency_budget_s": budget_s,
        "latency_seconds": round(budget.elapsed_s(), 1),
        "latency_parts_timed": budget.timed,
        "latency_parts_estimated": list(budget.estimated),
    }
    for name, reason in (("latency_measured_skipped", latency_skip), ("step_time_measured_skipped", step_skip)):
        if reason:
            times[name] = reason
    return times


def _measured(spec: Any, prediction: Any, budget: Any, device: str, batch: int, px: int) -> tuple[Any, str]:
    """The whole network's measured time (ms), or ``None`` and why it was not measured (memory, budget)."""
    from nasgen.cost import available_memory_bytes, step_memory_bytes
    from nasgen.nn import measure_latency
    from nasgen.units import format_bytes

    if prediction.mode == "train":
        needed, available = step_memory_bytes(spec, batch=batch, resolution_px=px), available_memory_bytes(device)
        if available is not None and needed > available:
            return None, (f"a training step of the whole network needs about {format_bytes(needed)}, "
                          f"{format_bytes(available)} available: lower --step-batch or --step-resolution")  # fmt: skip
    # a measurement makes 2 to 7 calls: it fits when 4 predicted calls do
    if not budget.fits(4 * prediction.total_ms / 1000):
        return None, f"--latency-budget spent ({budget.elapsed_s():.0f} s of {budget.seconds:g} s)"
    return measure_latency(spec, mode=prediction.mode, batch=batch, resolution_px=px, device=device), ""


def _progress_line(progress: Any) -> None:
    """One stderr line per part timed: ``latency: 3/13 parts (train, batch 128) stages.4.1, 41 s, ETA 25 s``."""
    if not progress.part:
        return
    eta = f", ETA {progress.eta_s:.0f} s" if progress.eta_s is not None else ""
    budget = f" of {progress.budget_s:g} s" if progress.budget_s is not None else ""
    err_console.print(
        f"latency: timing part {progress.done + 1}/{progress.total} ({progress.mode}, batch {progress.batch}) "
        f"{progress.part}, {progress.elapsed_s:.0f} s{budget}{eta}", highlight=False, soft_wrap=True, markup=False,
    )  # fmt: skip


def _print_latency(times: dict[str, Any]) -> None:
    def line(name: str, predicted: float, measured: float | None, factor: float, skipped: str | None) -> None:
        calibrated = "" if factor == 1.0 else f", calibration x{factor:.2f}"
        if measured is None:
            console.print(f"{name} predicted {predicted:.2f} ms{calibrated}; not measured: {skipped}",
                          highlight=False, soft_wrap=True)
            return
        error = 100 * (predicted - measured) / measured if measured else float("nan")
        console.print(f"{name} predicted {predicted:.2f} ms, measured {measured:.2f} ms ({error:+.0f} %{calibrated})",
                      highlight=False)

    console.print(f"device       {times['device']}, {times['threads']} threads", highlight=False)
    line("latency      batch 1:", times["latency_predicted_ms"], times["latency_measured_ms"],
         times["latency_calibration"], times.get("latency_measured_skipped"))
    line(f"train step   batch {times['step_batch']} at {times['step_resolution_px']} px:",
         times["step_time_predicted_ms"], times["step_time_measured_ms"], times["step_calibration"],
         times.get("step_time_measured_skipped"))
    estimated = times["latency_parts_estimated"]
    if estimated:
        console.print(f"estimated    {len(estimated)} part(s) not timed within --latency-budget "
                      f"{times['latency_budget_s']:g} s (from the ms per MAC of the parts timed): "
                      f"{', '.join(estimated)}", highlight=False, soft_wrap=True)  # fmt: skip


def _budget_s(text: str | None) -> float | None:
    """``--latency-budget`` (``5m``, ``90s``) in seconds, parsed once here."""
    from nasgen.units import parse_duration_ms

    return None if text is None else parse_duration_ms(text, what="--latency-budget") / 1000.0


@user_errors
def profile(
    arch: str = typer.Argument(..., help="architecture YAML/JSON file or built-in name"),
    resolution: int = typer.Option(None, "--resolution", help="input resolution in px [default: the spec's]"),
    batch_size: int = typer.Option(1, "--batch-size", help="batch size for activation memory"),
    dtype_bytes: int = typer.Option(4, "--dtype-bytes", help="bytes per activation element (2 for fp16)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object instead of the table"),
    measure: bool = typer.Option(False, "--measure", help="also measure the built model with thop (imports torch)"),
    latency: bool = typer.Option(
        False, "--latency", help="predicted (per-block table) and measured latency at batch 1 and training step time"
    ),
    device: str = typer.Option("cpu", "--device", help="device of --latency: cpu or cuda[:N]"),
    step_batch: int = typer.Option(128, "--step-batch", help="batch of the training step (--latency)"),
    step_resolution: int = typer.Option(
        None, "--step-resolution", help="resolution of the training step in px [default: the spec's]"
    ),
    latency_budget: Optional[str] = typer.Option(
        None, "--latency-budget", metavar="TIME",
        help="bound --latency's timing, e.g. 5m or 90s: no new part is timed once it is spent, the rest are "
        "estimated from the parts timed (and said so); the whole-network measurements are skipped if they "
        "would not fit (default: no bound)",
    ),
) -> None:
    """Print params, MACs (conv + linear, batch 1), FLOPs (2 x MACs), activation memory and a stage table."""
    from nasgen.cost import count_cost, graph_hash
    from nasgen.spec import load_spec

    budget_s = _budget_s(latency_budget)
    spec = load_spec(arch)
    report = count_cost(spec, resolution_px=resolution, batch_size=batch_size, dtype_bytes=dtype_bytes)
    structure = graph_hash(spec, report.resolution_px)
    measured = _measure(spec, report) if measure else None
    agrees = measured is None or (measured.macs, measured.params) == (report.macs, report.params)
    times = _latency(spec, report, device, step_batch, step_resolution, budget_s) if latency else None
    if as_json:
        payload = _payload(spec, report, structure, measured)
        if times is not None:
            payload.update(times)
        typer.echo(json.dumps(payload))
    else:
        _print_report(spec, report, structure)
        if times is not None:
            _print_latency(times)
        if measured is not None:
            verdict = "agrees" if agrees else "[bold red]DISAGREES[/] with the analytic count"
            console.print(f"thop check   {measured.macs:,} MACs, {measured.params:,} params: {verdict}",
                          highlight=False)
    if not agrees:
        raise typer.Exit(1)  # a disagreement is a bug in a cost rule or a block builder, not a user error


def register(app: typer.Typer) -> None:
    app.command("profile", help=_HELP)(profile)
