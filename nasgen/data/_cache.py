"""The proxy's image cache: a class-balanced subset of a streamed dataset, decoded once into uint8.

A search trains hundreds of short proxies; decoding JPEGs for each would cost more than the training. So the
proxy trains on ``n_images`` files (class-balanced, seeded) decoded once by the streaming pipeline's workers,
resized (shorter side) and centre-cropped to ``resolution_px`` — the largest size any proxy of the search
asks for; :func:`nasgen.data._tensors.images_at` resizes it down per architecture. The cache lives in memory
up to ``memory_limit_bytes``; above that it is a memory-mapped file in ``cache_dir`` (the run directory), named
by the dataset's content (paths, labels, sizes, modification times), the subset and the size, built under a
file lock and published atomically, so every trial and every worker process of the study reuses one build.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nasgen.data._dataset import ImageDataset, stratified_order
from nasgen.data._files import ImageFiles
from nasgen.errors import DataError

__all__ = ["DEFAULT_CACHE_MEMORY_BYTES", "DEFAULT_PROXY_IMAGES", "ProxyCache", "open_proxy_cache", "proxy_cache"]

#: Proxy subset size: the embedded Fashion-MNIST proxy's 10,000 + 2,000 images, whose recipe (docs/proxy.md)
#: was measured at this size, so a proxy on a user's folder costs what the default search costs.
DEFAULT_PROXY_IMAGES = 12_000
#: Caches up to this size stay in memory; larger ones are memory-mapped from the run directory (bytes).
DEFAULT_CACHE_MEMORY_BYTES = 2 * 1024**3
#: Builds in this process, keyed by (content, n, px, seed): every trial of a search shares one object.
_BUILT: dict[tuple[str, int, int, int], ProxyCache] = {}


@dataclass
class ProxyCache:
    """A built (or reused) proxy cache.

    Attributes:
        dataset: The decoded subset, uint8 ``(n, R, R, C)`` (a ``numpy.memmap`` when on disk).
        seconds: Wall time of the build (s); 0.0 when reused.
        reused: True when an earlier build (this process or a file in ``cache_dir``) was reused.
        path: The memory-mapped file, or ``None`` when held in memory.
        skipped: ``{path: reason}`` of undecodable files left out (``skip_bad_images``).
    """

    dataset: ImageDataset
    seconds: float
    reused: bool
    path: Path | None = None
    skipped: dict[str, str] = field(default_factory=dict)


def _subset(files: ImageFiles, n_images: int, seed: int) -> np.ndarray:
    return np.sort(stratified_order(files.labels, seed)[: min(n_images, len(files))])


def _decode_into(files: ImageFiles, order: np.ndarray, px: int, out: np.ndarray, workers: int | None,
                 skip: bool) -> tuple[np.ndarray, dict[str, str]]:  # fmt: skip
    """Decode ``order`` into ``out`` (resize + centre crop, no crop margin); return the kept positions and skips."""
    from nasgen.data._stream import BadImages, eval_transform, make_loader

    bad = BadImages(skip)
    kept = np.zeros(len(order), dtype=bool)
    position = {int(i): p for p, i in enumerate(order)}
    loader = make_loader(files, px, train=False, batch_size=64, workers=workers, order=order,
                         transform=eval_transform(px, crop_pct=1.0), draft_px=px)  # fmt: skip
    for batch in loader:
        bad.check(batch.bad)
        rows = np.array([position[int(i)] for i in batch.index], dtype=np.int64)
        if len(rows):
            out[rows] = batch.images.permute(0, 2, 3, 1).numpy()
            kept[rows] = True
    return kept, bad.skipped


def proxy_cache(
    files: ImageFiles,
    resolution_px: int,
    *,
    n_images: int = DEFAULT_PROXY_IMAGES,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    memory_limit_bytes: int = DEFAULT_CACHE_MEMORY_BYTES,
    workers: int | None = None,
    skip_bad_images: bool = False,
) -> ProxyCache:
    """Build the proxy's uint8 cache of ``files`` at ``resolution_px``, or reuse an earlier build.

    Args:
        files: The streamed dataset.
        resolution_px: Side R of the cached images (px): the largest proxy resolution of the search.
        n_images: Size of the class-balanced subset (all files when fewer).
        seed: Seed of the subset draw.
        cache_dir: Where a cache above ``memory_limit_bytes`` is memory-mapped (the run directory); ``None``
            keeps every cache in memory.
        memory_limit_bytes: Largest cache held in memory (bytes).
        workers: Decode processes (``None`` = cores − 1, 1…8).
        skip_bad_images: Leave undecodable files out (listed in ``skipped``) instead of failing.

    Returns:
        The :class:`ProxyCache`; its ``dataset`` is an in-memory :class:`ImageDataset` (the fast path).

    Raises:
        DataError: ``n_images`` < 2, a file cannot be decoded (unless skipping), or fewer than two classes
            remain.
    """
    if n_images < 2:
        raise DataError(f"proxy images must be at least 2, got {n_images!r}")
    key = (files.content_key(), n_images, resolution_px, seed)
    if key in _BUILT:
        cached = _BUILT[key]
        return ProxyCache(cached.dataset, 0.0, True, cached.path, cached.skipped)
    order = _subset(files, n_images, seed)
    shape = (len(order), resolution_px, resolution_px, files.in_channels)
    on_disk = cache_dir is not None and int(np.prod(shape)) > memory_limit_bytes
    start = time.perf_counter()
    if on_disk:
        cache = _on_disk(files, order, shape, Path(cache_dir), key, workers, skip_bad_images)
    else:
        images = np.empty(shape, dtype=np.uint8)
        kept, skipped = _decode_into(files, order, resolution_px, images, workers, skip_bad_images)
        dataset = _dataset(files, images, order, kept, resolution_px)
        cache = ProxyCache(dataset, time.perf_counter() - start, False, None, skipped)
    _BUILT[key] = cache
    return cache


def _dataset(files: ImageFiles, images: np.ndarray, order: np.ndarray, kept: np.ndarray, px: int) -> ImageDataset:
    if not kept.all():
        images = images[kept]
    name = f"{files.name}[proxy {kept.sum()}@{px}px]"
    return ImageDataset(images, files.labels[order[kept]], list(files.classes), name)


def _on_disk(files: ImageFiles, order: np.ndarray, shape: tuple[int, ...], cache_dir: Path,
             key: tuple, workers: int | None, skip: bool) -> ProxyCache:  # fmt: skip
    import fcntl

    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = cache_dir / f"proxy-cache-{key[0]}-{key[1]}x{key[2]}px-s{key[3]}"
    data_path, meta_path = stem.with_suffix(".u8"), stem.with_suffix(".json")
    start = time.perf_counter()
    with open(stem.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder; the others wait, then reuse its file
        reused = meta_path.exists() and data_path.exists()
        if not reused:
            tmp = data_path.with_suffix(".u8.tmp")
            images = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
            kept, skipped = _decode_into(files, order, key[2], images, workers, skip)
            images.flush()
            del images
            os.replace(tmp, data_path)
            labels = files.labels[order[kept]]
            meta = {"kept": kept.tolist(), "skipped": skipped, "shape": list(shape), "labels": labels.tolist(),
                    "classes": list(files.classes), "name": f"{files.name}[proxy {int(kept.sum())}@{key[2]}px]"}
            meta_path.with_suffix(".json.tmp").write_text(json.dumps(meta))
            os.replace(meta_path.with_suffix(".json.tmp"), meta_path)
    meta = json.loads(meta_path.read_text())
    kept = np.array(meta["kept"], dtype=bool)
    images = np.load(data_path, mmap_mode="c")  # copy-on-write: writable for torch, pages shared
    dataset = _dataset(files, images, order, kept, key[2])
    return ProxyCache(dataset, 0.0 if reused else time.perf_counter() - start, reused, data_path, meta["skipped"])


def open_proxy_cache(path: str | Path) -> ImageDataset:
    """The memory-mapped proxy cache at ``path`` (a ``proxy-cache-….u8`` file a search built in its run directory)
    as an in-memory :class:`ImageDataset`, without the files it was decoded from: what a ``--workers`` process and
    ``confirm`` train on, so that neither scans nor decodes the folder again.

    Raises:
        DataError: No cache there, or one written before caches described themselves (rebuild it from the data).
    """
    data_path = Path(path)
    meta_path = data_path.with_suffix(".json")
    if not data_path.is_file() or not meta_path.is_file():
        raise DataError(f"{data_path}: no proxy cache there (its .u8 and .json files); rebuild it from the data")
    meta = json.loads(meta_path.read_text())
    if "labels" not in meta:
        raise DataError(f"{data_path}: a proxy cache written by an older nasgen (no labels in {meta_path.name}); "
                        "delete it and rebuild it from the data")
    kept = np.array(meta["kept"], dtype=bool)
    images = np.load(data_path, mmap_mode="c")  # copy-on-write: writable for torch, pages shared
    if not kept.all():
        images = images[kept]
    return ImageDataset(images, np.asarray(meta["labels"], dtype=np.int64), list(meta["classes"]), meta["name"])
