"""Depthwise convolution on tiny maps: oneDNN's ``conv2d`` against ``depthwise_conv_small_map`` (CPU).

An EfficientNet trained at 32 px (the CPU proxy's resolution for B0) runs its last stages at 2×2 and 1×1 px.
There oneDNN's depthwise backward pass is far slower than the arithmetic warrants, so ``MBConv`` switches to
``nasgen.nn._small_map.depthwise_conv_small_map`` for maps of at most ``SMALL_MAP_MAX_PIXELS`` px² when training
on the CPU. This benchmark prints, for the depthwise shapes of B0 at 32 px (batch 64), the time of one forward
+ backward pass of each implementation, and the training throughput of B0 with and without the switch.

Usage:
    python benchmarks/depthwise_small_map.py               # 2 torch threads
    python benchmarks/depthwise_small_map.py --threads 1 --batch 128
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

# (C, H, k, stride) of the depthwise convs of EfficientNet-B0 at 32 px, deepest first
SHAPES = [
    (1152, 1, 5, 1),
    (1152, 1, 3, 1),
    (672, 2, 5, 1),
    (672, 2, 5, 2),
    (480, 2, 3, 1),
    (480, 2, 5, 1),
    (240, 4, 5, 1),
    (144, 8, 5, 2),
    (96, 16, 3, 2),
]


def _median_ms(fn, repeats: int) -> float:
    fn()
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def _conv_times(batch: int, repeats: int) -> list[tuple[str, float, float | None]]:
    from nasgen.nn._blocks import SMALL_MAP_MAX_PIXELS
    from nasgen.nn._small_map import depthwise_conv_small_map

    rows = []
    for channels, size, k, stride in SHAPES:
        x = torch.randn(batch, channels, size, size).to(memory_format=torch.channels_last).requires_grad_(True)
        w = torch.randn(channels, 1, k, k, requires_grad=True)

        def conv() -> None:
            F.conv2d(x, w, stride=stride, padding=k // 2, groups=channels).sum().backward()

        def small() -> None:
            depthwise_conv_small_map(x, w, stride, k // 2).sum().backward()

        used = size * size <= SMALL_MAP_MAX_PIXELS
        rows.append(
            (
                f"({batch}, {channels}, {size}, {size}) k{k} s{stride}",
                _median_ms(conv, repeats),
                _median_ms(small, repeats) if used else None,
            )
        )
    return rows


def _b0_throughput(batch: int, small_map_path: bool, steps: int) -> float:
    from nasgen.nn import MBConv, build_model
    from nasgen.spec import load_spec

    spec = load_spec("efficientnet-b0").replace(num_classes=10, in_channels=1, resolution_px=32)
    model = build_model(spec).to(memory_format=torch.channels_last).train()
    if not small_map_path:
        for module in model.modules():
            if isinstance(module, MBConv):
                module._use_small_map_path = lambda x: False
    optimizer = torch.optim.AdamW(model.parameters(), 3e-3, weight_decay=0.05)
    x = torch.randn(batch, 1, 32, 32).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    step()
    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--batch", type=int, default=64, help="batch size")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per shape (median reported)")
    parser.add_argument("--steps", type=int, default=8, help="timed B0 training steps")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch}, channels_last, CPU")
    print(f"{'depthwise input':<32} {'conv2d ms':>10} {'small-map ms':>13}")
    for name, conv_ms, small_ms in _conv_times(args.batch, args.repeats):
        small = f"{small_ms:13.2f}" if small_ms is not None else f"{'(not used)':>13}"
        print(f"{name:<32} {conv_ms:10.2f} {small}")
    for flag in (False, True):
        rate = _b0_throughput(args.batch, flag, args.steps)
        print(f"B0 training at 32 px, small-map path {'on ' if flag else 'off'}: {rate:7.1f} images/s")


if __name__ == "__main__":
    main()
