#!/usr/bin/env bash
# Train an exported architecture with EfficientNetV2 progressive learning (`nasgen train --progressive`).
#
# 1. `nasgen export` writes the architecture (arch.yaml) and standalone model.py of examples/arch.yaml, as it
#    would for a search's run directory (`nasgen export runs/<study> -o OUT`).
# 2. A small .npz of real Fashion-MNIST images is cut from nasgen's embedded data (`--data` also takes
#    'embedded', 'fashion-mnist', an ImageFolder tree or IDX files).
# 3. `nasgen train ... --progressive` trains it: the image size and regularization grow stage by stage
#    (EfficientNetV2 §4, Algorithm 1; docs/progressive.md). The run directory holds metrics.csv (one row per
#    epoch: stage, image_size_px, lr, losses, top-1), checkpoint.pt, weights.safetensors and arch.yaml;
#    running the same command again resumes.
#
# Run: bash examples/train_progressive.sh [OUT] [EPOCHS] [IMAGES]   (defaults: runs/examples/progressive 2 200)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-runs/examples/progressive}
epochs=${2:-2}
images=${3:-200}

nasgen export "$here/arch.yaml" -o "$out/exported" --format arch,code --force

python - "$out/tiny.npz" "$images" <<'PY'
import sys
import numpy as np
from nasgen.data import load_dataset

path, count = sys.argv[1], int(sys.argv[2])
data = load_dataset(None)
np.savez(path, images=data.images[:count], labels=data.labels[:count])  # images (N, H, W, C) uint8
print(f"wrote {count} images to {path}")
PY

nasgen train "$out/exported/arch.yaml" --data "$out/tiny.npz" --epochs "$epochs" --progressive \
  --batch-size 32 --warmup-epochs 0 --device cpu --out "$out/train"
