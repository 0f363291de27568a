"""The streaming image pipeline (issue 14), measured on a generated ImageFolder of real Fashion-MNIST images.

Writes ``--n`` Fashion-MNIST training images (the Debian package's IDX files) as JPEGs of random sizes
96–512 px (bicubic upscale, random aspect 3:4–4:3, quality 90) into ``ROOT/<class>/``, then prints:

1. images/s of nasgen's train loader vs torchvision ``ImageFolder`` + ``DataLoader`` with the same transforms
   (random-resized crop to ``--px`` + flip) and the same number of workers;
2. the resident memory (RSS, this process plus its loader workers) sampled every batch over one epoch;
3. time to the first training step: streaming (scan + normalization sample + first batch + one step) vs the
   eager decode of ``load_dataset(root, in_memory=True)`` (every file decoded, squashed to 64 px);
4. the proxy cache's build time (``--proxy-images`` at 32 px, B0's CPU proxy resolution).

    nice python benchmarks/data_pipeline.py [--n 20000] [--workers 1] [--root $TMPDIR/nasgen-fmnist-jpeg]

The folder is reused when it already holds ``--n`` files.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from nasgen.data._idx import FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, load_idx_folder


def make_folder(root: Path, n: int, seed: int = 0) -> float:
    """Write ``n`` stratified Fashion-MNIST images as JPEGs of 96–512 px; return the seconds it took."""
    existing = sum(1 for _ in root.rglob("*.jpg")) if root.exists() else 0
    if existing == n:
        return 0.0
    start = time.perf_counter()
    images, labels, _ = load_idx_folder(FASHION_MNIST_DIR)
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(len(labels))[:n]
    for name in FASHION_MNIST_CLASSES:
        (root / name.replace("/", "-")).mkdir(parents=True, exist_ok=True)
    for k, index in enumerate(chosen):
        side = int(rng.integers(96, 513))
        aspect = float(rng.uniform(0.75, 4 / 3))
        size = (side, max(96, min(512, round(side * aspect))))
        image = Image.fromarray(images[index]).resize(size, Image.Resampling.BICUBIC)
        name = FASHION_MNIST_CLASSES[int(labels[index])].replace("/", "-")
        image.save(root / name / f"{k:06d}.jpg", quality=90)
    return time.perf_counter() - start


def rss_mb(pids: list[int]) -> float:
    """Summed VmRSS of ``pids`` (MB), from /proc."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def children() -> list[int]:
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == me:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def loader_rate(loader, limit: int, track_rss: bool = False) -> tuple[float, list[float]]:
    """Images per second over the first ``limit`` images (after the first batch, which includes startup)."""
    seen, start, rss = 0, None, []
    for batch in loader:
        images = batch.images if hasattr(batch, "images") else batch[0]
        if start is None:
            start = time.perf_counter()
        else:
            seen += len(images)
        if track_rss:
            rss.append(rss_mb([os.getpid(), *children()]))
        if seen >= limit:
            break
    return seen / (time.perf_counter() - start), rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="files in the generated folder")
    parser.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "nasgen-fmnist-jpeg")
    parser.add_argument("--workers", type=int, default=None, help="loader workers (default: nasgen's)")
    parser.add_argument("--px", type=int, default=128, help="training image size")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rate-images", type=int, default=1500, help="images timed per loader")
    parser.add_argument("--proxy-images", type=int, default=2000)
    parser.add_argument("--skip-eager", action="store_true", help="do not time the eager decode")
    args = parser.parse_args()
    torch.set_num_threads(1)

    from torch.utils.data import DataLoader
    from torchvision.datasets import ImageFolder

    from nasgen.data._cache import proxy_cache
    from nasgen.data._files import scan_image_folder
    from nasgen.data._stream import default_loader_workers, make_loader, train_transform

    workers = default_loader_workers() if args.workers is None else args.workers
    made = make_folder(args.root / str(args.n), args.n)
    root = args.root / str(args.n)
    print(f"folder: {root}, {args.n} JPEGs 96-512 px (written in {made:.0f} s; 0 = reused)")
    print(f"load: {os.getloadavg()}, cores: {os.cpu_count()}, workers: {workers}, torch threads: 1, px: {args.px}")

    files = scan_image_folder(root)
    ours = make_loader(files, args.px, train=True, batch_size=args.batch_size, workers=workers,
                       order=np.random.default_rng(0).permutation(len(files)))  # fmt: skip
    ours_ips, _ = loader_rate(ours, args.rate_images)
    reference = ImageFolder(str(root), transform=train_transform(args.px))
    theirs = DataLoader(reference, batch_size=args.batch_size, shuffle=True, num_workers=workers,
                        generator=torch.Generator().manual_seed(0))  # fmt: skip
    theirs_ips, _ = loader_rate(theirs, args.rate_images)
    print(f"1. loader images/s: nasgen {ours_ips:.0f}, torchvision ImageFolder {theirs_ips:.0f} "
          f"(ratio {ours_ips / theirs_ips:.2f}; nasgen decodes grey data as 1 channel and JPEGs at a reduced "
          "scale where the crop allows; torchvision's loader converts to RGB at full size)")  # fmt: skip

    epoch = make_loader(files, args.px, train=True, batch_size=args.batch_size, workers=workers,
                        order=np.random.default_rng(1).permutation(len(files)))  # fmt: skip
    _, rss = loader_rate(epoch, len(files), track_rss=True)
    quarter = len(rss) // 4 or 1
    print(f"2. RSS over one epoch ({len(files)} images, {len(rss)} batches, process + workers): "
          f"after first quarter {max(rss[:quarter]):.0f} MB, peak {max(rss):.0f} MB, last {rss[-1]:.0f} MB "
          f"(peak / first-quarter peak = {max(rss) / max(rss[:quarter]):.3f})")  # fmt: skip

    print("3. time to first training step:", first_step_stream(root, args, workers), "|",
          "eager: skipped" if args.skip_eager else first_step_eager(root, args))  # fmt: skip

    start = time.perf_counter()
    cache = proxy_cache(files, 32, n_images=args.proxy_images, workers=workers)
    print(f"4. proxy cache: {len(cache.dataset)} images at 32 px built in {time.perf_counter() - start:.1f} s "
          f"({cache.dataset.images.nbytes / 1e6:.1f} MB); reuse: "
          f"{timed(lambda: proxy_cache(files, 32, n_images=args.proxy_images, workers=workers)):.3f} s")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


#: A small network (6 MBConv blocks, 28M MACs at 128 px), so that the first step measures the data, not
#: the CPU's speed on a large model; both paths use it.
SMALL = {
    "name": "small", "in_channels": 1, "resolution_px": 128, "num_classes": 10, "head_channels": 256,
    "stem": {"out_channels": 16, "kernel_size": 3, "stride": 2},
    "stages": [
        {"kind": "mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 4, "out_channels": 24},
        {"kind": "mbconv", "num_layers": 2, "kernel_size": 5, "stride": 2, "expand_ratio": 4, "out_channels": 40},
        {"kind": "mbconv", "num_layers": 2, "kernel_size": 3, "stride": 2, "expand_ratio": 4, "out_channels": 80},
    ],
}


def _tiny_model(in_channels: int):
    from nasgen.nn import build_model
    from nasgen.spec import spec_from_dict

    return build_model(spec_from_dict({**SMALL, "in_channels": in_channels}))


def first_step_stream(root: Path, args, workers: int) -> str:
    from nasgen.data import split
    from nasgen.data._files import scan_image_folder
    from nasgen.data._tensors import channel_stats
    from nasgen.train import TrainConfig
    from nasgen.train._stream import StreamTrainer

    start = time.perf_counter()
    files = scan_image_folder(root)
    train, val = split(files, None, seed=0)
    channel_stats(train)
    data_s = time.perf_counter() - start
    model = _tiny_model(files.in_channels)
    config = TrainConfig(batch_size=args.batch_size, resolution_px=args.px, epochs=1)
    trainer = StreamTrainer(model, train, val, config, seed=0, device="cpu", loader_workers=workers)
    trainer.n_train = args.batch_size  # one step
    trainer.train_epoch(0)
    total = time.perf_counter() - start
    return (f"streaming {total:.1f} s (scan + split + normalization sample {data_s:.1f} s; then first batch and "
            f"one step of a small MBConv net at {args.px} px)")  # fmt: skip


def first_step_eager(root: Path, args) -> str:
    from nasgen.data import load_dataset, split
    from nasgen.train import TrainConfig
    from nasgen.train._trainer import Trainer

    start = time.perf_counter()
    data = load_dataset(root, in_memory=True)  # the eager reader (load_dataset streams a folder by default)
    train, val = split(data, None, seed=0)
    data_s = time.perf_counter() - start
    config = TrainConfig(batch_size=args.batch_size, resolution_px=args.px, epochs=1)
    trainer = Trainer(_tiny_model(data.in_channels), train, val, config, seed=0, device="cpu")
    trainer.n_train = args.batch_size
    trainer.train_epoch(0)
    total = time.perf_counter() - start
    return f"eager {total:.1f} s (decode of every file {data_s:.1f} s, {data.images.nbytes / 1e6:.0f} MB held at 64 px)"


if __name__ == "__main__":
    main()
