"""The search's data: small data in memory as loaded; a streamed folder or list becomes the proxy's cache.

A folder of photos is not decoded per trial: :func:`search_data` builds (once per study) the class-balanced
uint8 cache of ``proxy_images`` files at the largest resolution any proxy of the space asks for
(:func:`nasgen.data._cache.proxy_cache`), and every trial trains on it through the in-memory fast path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["load_search_data", "proxy_cache_resolution", "search_data"]


def load_search_data(data: Any, seed: int) -> Any:
    """:func:`~nasgen.data.load_dataset`: ``ImageFiles`` for an ImageFolder tree or ``path,label`` list (nothing
    decoded), a loaded dataset as is, else the in-memory dataset."""
    from nasgen.data import load_dataset

    return load_dataset(data, seed=seed)


def proxy_cache_resolution(space: Any, config: Any) -> int:
    """The largest proxy resolution (px) of any architecture of ``space`` under ``config``."""
    from nasgen.train import proxy_resolution

    largest = max(space.resolution_px.values())
    return proxy_resolution(largest, config)


def search_data(
    dataset: Any, space: Any, config: Any, *, out_dir: Path, proxy_images: int | None = None,
    loader_workers: int | None = None, skip_bad_images: bool = False, shared_cache: bool = False,
    max_image_pixels: int | None = None,
) -> tuple[Any, list[str]]:
    """The dataset every trial trains on, and notes for the user: what loading the data found (its report's
    notes, and images far smaller than the largest proxy resolution), what the proxy cache holds and cost.

    ``shared_cache``: several worker processes train on it (``--workers``), so the cache is memory-mapped from
    ``out_dir`` whatever its size: built once, under a lock, and its pages shared by every worker.
    ``max_image_pixels``: a file claiming more pixels is a bad file, never decoded (default PIL's limit).

    Raises:
        DataError: A file of the subset cannot be decoded (unless skipping), or too few images.
    """
    from nasgen.data._cache import DEFAULT_PROXY_IMAGES, proxy_cache
    from nasgen.data._files import ImageFiles

    px = proxy_cache_resolution(space, config)
    report = getattr(dataset, "report", None)
    found = [*report.notes, *report.resolution_notes(px)] if report is not None else []
    if not isinstance(dataset, ImageFiles):
        return dataset, found
    if max_image_pixels is not None:
        dataset = dataset.with_max_image_pixels(max_image_pixels)
    n_images = DEFAULT_PROXY_IMAGES if proxy_images is None else proxy_images
    limit = {"memory_limit_bytes": 0} if shared_cache else {}
    cache = proxy_cache(
        dataset, px, n_images=n_images, cache_dir=out_dir, workers=loader_workers, skip_bad_images=skip_bad_images,
        **limit,
    )
    where = f"memory-mapped {cache.path}" if cache.path is not None else "in memory"
    how = "reused" if cache.reused else f"decoded once in {cache.seconds:.1f} s"
    default = " (the default --proxy-images)" if proxy_images is None else ""
    notes = found + [
        f"proxy data: {len(cache.dataset)} of {len(dataset)} images{default}, class-balanced, {how} at {px} px, "
        f"{where}"
    ]
    if cache.skipped:
        listed = "; ".join(f"{path} ({reason})" for path, reason in sorted(cache.skipped.items()))
        notes.append(f"skipped {len(cache.skipped)} bad image(s): {listed}")
    return cache.dataset, notes
