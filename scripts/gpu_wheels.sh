#!/usr/bin/env bash
# Run where PyPI is reachable: download into .whl/ the wheels that scripts/gpu_check.sh installs (with
# NASGEN_WHEELS=.whl, the default when .whl exists) on a GPU machine that reaches no package index and whose
# python3 already holds torch, torchvision, numpy, matplotlib, onnx, onnxruntime and pytest.
#
#   scripts/gpu_wheels.sh            # CPython 3.12, x86-64 Linux; PY_VERSION=3.11 for another Python
#
# The names are nasgen's dependencies (and the build backend) that such an image lacked when this was written,
# plus typer, whose vendored click the CLI needs; each is pinned to the version installed here when it is, so the
# GPU runs what the tests ran. About 12 MB; .whl/ is ignored by git.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PY_VERSION:-3.12}
names="pydantic pydantic-core annotated-types typing-inspection typing-extensions optuna sqlalchemy alembic mako
colorlog ultralytics-thop typer hatchling trove-classifiers tomlkit pathspec pluggy packaging"
# shellcheck disable=SC2086
pins=$(python3 - $names <<'PY'
import importlib.metadata as metadata
import sys

for name in sys.argv[1:]:
    try:
        print(f"{name}=={metadata.version(name)}")
    except metadata.PackageNotFoundError:
        print(name)
PY
)
mkdir -p .whl
# shellcheck disable=SC2086
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest .whl --python-version "$py" \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 $pins
ls -1 .whl
du -sh .whl
