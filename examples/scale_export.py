"""Scale a found architecture to a family, export one member and load its ``model.py`` in plain PyTorch.

Compound scaling (EfficientNet §3.3, the built-in ``compound_scaling`` plugin): member φ has
``ceil(1.2^φ · L)`` layers per stage, ``1.1^φ`` times the channels (multiples of 8) and ``1.15^φ`` times the
resolution. The script prints the family's cost, exports the largest member with ``nasgen.export``
(``arch.yaml``, ``model.py``, ``manifest.json``), then runs ``model.py`` in a fresh Python in which ``import
nasgen`` fails, to show that the generated code needs only torch. The CLI equivalents:
``nasgen scale ARCH --family 0-2`` and ``nasgen export ARCH -o OUT``.

Run: ``python examples/scale_export.py [ARCH] [--phis 1,2] [--out runs/examples/scaled]``
(ARCH: examples/arch.yaml by default, or a search's best.yaml).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import nasgen

# Runs in the export folder with nasgen made unimportable: model.py must stand alone.
PLAIN_TORCH = """
import json, sys
sys.modules["nasgen"] = None  # any `import nasgen` now raises ImportError
import torch
from model import RESOLUTION_PX, IN_CHANNELS, build
model = build().eval()
with torch.no_grad():
    logits = model(torch.zeros(2, IN_CHANNELS, RESOLUTION_PX, RESOLUTION_PX))
print(json.dumps({"params": sum(p.numel() for p in model.parameters()), "logits": list(logits.shape)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("arch", nargs="?", type=Path, default=Path(__file__).with_name("arch.yaml"))
    parser.add_argument("--phis", default="1,2", help="comma-separated compound coefficients φ")
    parser.add_argument("--out", type=Path, default=Path("runs/examples/scaled"))
    args = parser.parse_args()

    base = nasgen.load_spec(args.arch)
    phis = [float(phi) for phi in args.phis.split(",")]
    family = nasgen.scale_family(base, phis)
    for spec in [base, *family]:
        cost = nasgen.count_cost(spec)
        print(f"{spec.name}: {spec.resolution_px} px, {spec.num_blocks} blocks, {cost.params} params, {cost.macs} MACs")

    largest = family[-1]
    result = nasgen.export(largest, args.out, formats=["arch", "code", "manifest"], force=True)
    print(f"exported {largest.name} to {args.out}: {', '.join(sorted(p.name for p in result.paths.values()))}")

    run = subprocess.run([sys.executable, "-c", PLAIN_TORCH], cwd=args.out, capture_output=True, text=True,
                         check=True)
    loaded = json.loads(run.stdout.strip().splitlines()[-1])
    expected = nasgen.count_cost(largest).params
    print(f"model.py in plain torch: {loaded['params']} params (nasgen counts {expected}), logits {loaded['logits']}")
    if loaded["params"] != expected:
        raise SystemExit("model.py's parameter count differs from nasgen's")


if __name__ == "__main__":
    main()
