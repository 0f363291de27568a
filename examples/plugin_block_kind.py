"""A third-party plugin adding a block kind, used in a search space, built, costed and exported.

The plugin is examples/plugin/nasgen_conv_block.py (the dense conv-BN-act kind ``conv``). Installed with
``pip install examples/plugin`` its entry point registers it; here, to run from a checkout, its hook's
descriptor is registered by hand with ``nasgen.spec.register_block_kind``. The script then

1. runs nasgen's conformance kit ``nasgen.testing.check_block_kind`` (output shapes, analytic = thop-measured
   MACs and params, the exported ``model.py``, TorchScript) — the test a plugin author runs;
2. writes a space whose first stage chooses between ``mbconv`` and ``conv``, freezes the ``conv`` choice,
   counts its cost, builds it and checks the analytic MACs against thop's;
3. exports that architecture's ``model.py`` (the plugin's block is copied into it).

Run: ``python examples/plugin_block_kind.py [--out runs/examples/plugin]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).with_name("plugin")))  # what `pip install examples/plugin` would do

import nasgen_conv_block

import nasgen
from nasgen.cost import measure_cost
from nasgen.space import loads_space
from nasgen.spec import register_block_kind
from nasgen.testing import check_block_kind

SPACE = """
name: with-conv
in_channels: 1
num_classes: 10
resolution_px: 32
stem: {out_channels: 16, stride: 2}
stages:
- {kind: [mbconv, conv], num_layers: {low: 1, high: 2}, kernel_size: [3, 5], stride: 1, expand_ratio: 1,
   out_channels: 16}
- {kind: mbconv, num_layers: 1, kernel_size: 3, stride: 2, expand_ratio: [4, 6], out_channels: 24}
head_channels: 64
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/examples/plugin"))
    args = parser.parse_args()

    for descriptor in nasgen_conv_block.nasgen_block_kinds():
        register_block_kind(descriptor, owner="nasgen_conv_block")

    report = check_block_kind("conv", se_ratios=(0.0,))
    print(f"check_block_kind: {len(report.cases)} cases pass; "
          f"block params {[case.block_params for case in report.cases]}")

    space = loads_space(SPACE)
    print(f"space: {space.size()} architectures, stages.0.kind in {space.dimensions()['stages.0.kind'].choices}")
    spec = space.freeze({"stages.0.kind": "conv", "stages.0.num_layers": 2, "stages.0.kernel_size": 3,
                         "stages.1.expand_ratio": 6})
    analytic = nasgen.count_cost(spec)
    model = nasgen.build_model(spec)
    measured = measure_cost(model)
    print(f"{' '.join(spec.display())}: {analytic.macs} MACs analytic, {measured.macs} measured by thop; "
          f"{analytic.params} params")
    if (analytic.macs, analytic.params) != (measured.macs, measured.params):
        raise SystemExit("the cost rule disagrees with the built block")

    result = nasgen.export(spec, args.out, formats=["arch", "code"], force=True)
    code = result.paths["code"].read_text()
    print(f"model.py: {result.paths['code']}, defines ConvBlock: {'class ConvBlock(nn.Module)' in code}")


if __name__ == "__main__":
    main()
