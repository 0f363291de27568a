#!/usr/bin/env bash
# The GPU check (issue 29, docs/gpu.md): every CUDA branch's tests and the GPU figures in one prepared run,
# at most 8 minutes on one H100. Everything it prints is also in $OUT/gpu_check.log; the figures are in
# $OUT/gpu_figures.json (and as the docs table in $OUT/gpu_figures.md).
#
#   scripts/gpu_check.sh              # on a machine with a CUDA device
#   scripts/gpu_check.sh --dry-run    # the same path on the CPU at tiny sizes, < 2 minutes (CI runs it)
#
# Environment:
#   OUT              where the figures go (default: ./gpu-figures)
#   NASGEN_GPU_VENV  a virtual environment to use as it is (it must hold torch; what the project needs beyond
#                    that is installed into it when missing). Unset: a python3 on PATH whose torch sees a GPU
#                    (in --dry-run: any torch) is used; else ./.gpu-venv is made with
#                    pip install torch==2.14.1 torchvision==0.29.1, then the project.
#   NASGEN_WHEELS    a folder of wheels (scripts/gpu_wheels.sh fills .whl/): install from there only, for a
#                    machine that reaches no package index. Default: .whl when it exists.
# Nothing else is fetched: no weights, no data (the embedded Fashion-MNIST subset ships with the package).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

dry_run=()
if [ "${1:-}" = "--dry-run" ]; then dry_run=(--dry-run); shift; fi
if [ $# -gt 0 ]; then echo "usage: scripts/gpu_check.sh [--dry-run]" >&2; exit 2; fi

OUT=${OUT:-$root/gpu-figures}
mkdir -p "$OUT"
NASGEN_GPU_CHECK_START=$(date +%s)  # benchmarks/gpu_figures.py keeps the whole check within 8 minutes of this
export OUT PYTHONUNBUFFERED=1 NASGEN_GPU_CHECK_START
exec > >(tee "$OUT/gpu_check.log") 2>&1

wheels=${NASGEN_WHEELS:-}
if [ -z "$wheels" ] && [ -d .whl ]; then wheels=.whl; fi
pip_from=()
if [ -n "$wheels" ]; then pip_from=(--no-index --find-links "$wheels"); fi

torch_check='import torch, torchvision; assert torch.cuda.is_available()'
if [ ${#dry_run[@]} -gt 0 ]; then
  torch_check='import torch, torchvision'
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # tiny CPU work on a shared machine: 1 thread, no spin-waits
fi

if [ -n "${NASGEN_GPU_VENV:-}" ]; then
  # shellcheck disable=SC1091
  . "$NASGEN_GPU_VENV/bin/activate"
  echo "python: $NASGEN_GPU_VENV (given)"
elif command -v python3 >/dev/null 2>&1 && python3 -c "$torch_check" 2>/dev/null; then
  echo "python: $(command -v python3) (its torch is used as it is)"
  python() { python3 "$@"; }
else
  [ -d .gpu-venv ] || python3 -m venv .gpu-venv
  # shellcheck disable=SC1091
  . .gpu-venv/bin/activate
  echo "python: .gpu-venv"
  python -c 'import torch, torchvision' 2>/dev/null \
    || python -m pip install --quiet "${pip_from[@]}" "torch==2.14.1" "torchvision==0.29.1"
fi

# The project and what its tests need, installed only when missing (the torch found above is kept).
# PYTHONPATH puts this checkout first, whatever copy of nasgen an environment holds.
export PYTHONPATH="$root:$root/plugins${PYTHONPATH:+:$PYTHONPATH}"
need='
import importlib.metadata as m
from packaging.requirements import Requirement
import nasgen, pytest
for text in m.requires("nasgen") or []:  # every dependency of the installed project, at a version it accepts
    req = Requirement(text)
    if req.marker is None or req.marker.evaluate({"extra": "onnx"}):
        assert req.specifier.contains(m.version(req.name), prereleases=True), text
'
if ! python -c "$need" 2>/dev/null; then
  python -m pip install --quiet "${pip_from[@]}" -e ".[onnx]" "pytest>=8"
fi
# nasgen's CLI uses the click that typer vendors, which older typers lack
python -c 'import typer._click' 2>/dev/null || python -m pip install --quiet "${pip_from[@]}" --upgrade typer
python -c 'import nasgen, torch; print("nasgen", nasgen.__version__, "from", nasgen.__file__, "| torch",
torch.__version__, "| CUDA", torch.cuda.is_available() and torch.cuda.get_device_name(0))'
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true

set +e
python benchmarks/gpu_figures.py --out "$OUT" "${dry_run[@]}"
status=$?
set -e
echo "gpu_check: exit $status after $(( $(date +%s) - NASGEN_GPU_CHECK_START )) s; figures in $OUT/gpu_figures.json"
exit "$status"
