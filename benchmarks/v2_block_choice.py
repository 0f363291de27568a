"""The V2 experiment (issue 16): on this device, is a Fused-MBConv or an MBConv block cheaper to train in
EfficientNetV2-S's first three stages?

EfficientNetV2 (§3.2, Table 3) put Fused-MBConv in stages 1–3 because on TPU/GPU a k×k full conv trains faster
than a 1×1 expansion + depthwise k×k at small widths, although it costs more MACs. The v2 reward
(A·S^−0.07·P^−0.05, §3.3) makes the search prefer whichever trains faster here. This times one training step
(forward, backward, fused AdamW) of each candidate block at V2-S's stage shapes, at the CPU proxy's batch and
the resolution the proxy trains V2-S at, interleaving the candidates so a changing machine load hits all alike,
and prints the step time, MACs and params of each, and which block the reward would prefer at equal accuracy.

    python benchmarks/v2_block_choice.py [--batch 128] [--px 55] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics

STAGES = [  # (stage, in, out, stride, layers) of EfficientNetV2-S, Table 4
    (1, 24, 24, 1, 2),
    (2, 24, 48, 2, 4),
    (3, 48, 64, 2, 4),
]
CANDIDATES = [  # (label, kind, expand, se)
    ("Fused-MBConv1", "fused_mbconv", 1, 0.0),
    ("Fused-MBConv4", "fused_mbconv", 4, 0.0),
    ("MBConv4", "mbconv", 4, 0.0),
    ("MBConv4 SE0.25", "mbconv", 4, 0.25),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--px", type=int, default=55, help="input px of stage 1 (V2-S's proxy: 32·384/224 ≈ 55, /2)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import torch

    from nasgen.cost import Part, count_cost, time_module
    from nasgen.nn import build_part
    from nasgen.spec import load_spec

    v2s = load_spec("efficientnetv2-s")
    print(f"threads {torch.get_num_threads()}, load {os.getloadavg()[0]:.2f}; batch {args.batch}, "
          f"stage-1 input {args.px // 2} px (stem stride 2 from {args.px} px)")
    size = (args.px + 1) // 2
    for stage, c_in, c_out, stride, layers in STAGES:
        specs = {}
        for label, kind, expand, se in CANDIDATES:
            if kind == "fused_mbconv" and expand == 1 and c_in != c_out and stride == 1:
                continue
            stage_spec = dict(kind=kind, num_layers=1, kernel_size=3, stride=stride, expand_ratio=expand,
                              out_channels=c_out, se_ratio=se)
            stages = [s.model_dump() for s in v2s.stages]
            stages[stage - 1] = stage_spec
            spec = v2s.replace(stages=stages, num_classes=10, in_channels=1)
            specs[label] = spec
        times: dict[str, list[float]] = {label: [] for label in specs}
        key = {"device": "cpu", "channels_last": True}
        for _ in range(args.rounds):
            for label, spec in specs.items():  # interleaved: load changes hit every candidate alike
                part = Part(f"stages.{stage - 1}.0", "", "block", c_in, size, stage - 1, stride)
                module = build_part(spec, part)
                times[label].append(time_module(module, part, "train", args.batch, key, min_seconds=0.05).ms)
        print(f"stage {stage}: {c_in}→{c_out}, stride {stride}, {size} px in, {layers} layers in V2-S")
        for label, spec in specs.items():
            cost = count_cost(spec).stages[stage - 1]
            per_block_macs = cost.macs // spec.stages[stage - 1].num_layers
            print(f"  {label:<16} step {statistics.median(times[label]):8.2f} ms  "
                  f"MACs/block at 384 px {per_block_macs / 1e6:7.2f}M  params/block {cost.params:>8,}")
        fastest = min(specs, key=lambda label: statistics.median(times[label]))
        print(f"  fastest to train here: {fastest}")
        size = (size + stride - 1) // stride


if __name__ == "__main__":
    main()
