"""The search's data, prepared once per study and handed to every evaluator, worker and confirmation.

Small data (the embedded subset, IDX, ``.npz``, a loaded :class:`~nasgen.data.ImageDataset`) stays in memory as
loaded. A streamed folder or ``path,label`` list is not decoded per trial: :func:`prepare_data` builds (once per
study) the class-balanced uint8 cache of ``proxy_images`` files at the largest resolution any proxy of the space asks
for (:func:`nasgen.train.proxy_data`), memory-mapped in the run directory. ``--workers`` processes and ``confirm``
then map that file (:func:`nasgen.data.open_proxy_cache`) instead of scanning or decoding the folder again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasgen.config import SearchConfig

__all__ = ["DataOptions", "SearchData", "prepare_data", "proxy_cache_resolution"]


@dataclass(frozen=True)
class DataOptions:
    """How a streamed folder becomes the proxy's cache (the search's data settings; recorded on the study so that
    ``confirm`` reads the data as the search did).

    Attributes:
        proxy_images: Class-balanced files in the cache (None = ``DEFAULT_PROXY_IMAGES``).
        loader_workers: Decode processes (None = cores − 1, 1…8).
        skip_bad_images: Leave undecodable files out (listed) instead of failing.
        max_image_pixels: A file whose header claims more pixels is a bad file, never decoded (None: PIL's limit).
    """

    proxy_images: int | None = None
    loader_workers: int | None = None
    skip_bad_images: bool = False
    max_image_pixels: int | None = None

    @classmethod
    def of(cls, config: SearchConfig) -> DataOptions:
        """The data settings of a :class:`~nasgen.config.SearchConfig`."""
        return cls(config.proxy_images, config.loader_workers, config.skip_bad_images, config.max_image_pixels)

    def recorded(self) -> dict[str, Any]:
        """What the study records (``loader_workers`` is a property of the machine, not of the data)."""
        return {"proxy_images": self.proxy_images, "skip_bad_images": self.skip_bad_images,
                "max_image_pixels": self.max_image_pixels}


@dataclass
class SearchData:
    """The data of a search, prepared once.

    Attributes:
        dataset: What :func:`~nasgen.data.load_dataset` returned (an in-memory dataset, or the files of a streamed
            one), or None (a stand-in scorer without data).
        train: What evaluators train on: ``dataset`` itself in memory, the proxy cache of a streamed one.
        source: Where the data came from, as the study records it (``embedded``, a path, a folder).
        fingerprint: The data's identity by content (:func:`nasgen.data.fingerprint`), None without data.
        streamed_images: The proxy subset size of a streamed dataset, else None.
        cache_file: The memory-mapped proxy cache's file name in the run directory, else None.
        cache_px: The side of the proxy cache's images (px), else None.
        notes: What the preparation did, for the user (the cache's size, build time, skipped files).
    """

    dataset: Any
    train: Any
    source: str | None
    fingerprint: str | None = None
    streamed_images: int | None = None
    cache_file: str | None = None
    cache_px: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def freeze_kwargs(self) -> dict[str, int]:
        """``num_classes`` / ``in_channels`` of the data, as every architecture of the search is frozen with."""
        if self.dataset is None:
            return {}
        return {"num_classes": self.dataset.num_classes, "in_channels": self.dataset.in_channels}


def proxy_cache_resolution(space: Any, config: Any) -> int:
    """The largest proxy resolution (px) of any architecture of ``space`` under ``config``."""
    from nasgen.train import proxy_resolution

    return proxy_resolution(max(space.resolution_px.values()), config)


def load(data: Any, seed: int) -> Any:
    """:func:`~nasgen.data.load_dataset` of ``data`` (a loaded dataset passes through)."""
    from nasgen.data import load_dataset

    return load_dataset(data, seed=seed)


def prepare_data(
    data: Any, *, space: Any, proxy: Any, out_dir: Path, seed: int, options: DataOptions, need_data: bool = True,
    cache_px: int | None = None,
) -> SearchData:
    """Load ``data`` once and make it what every evaluator of the study trains on.

    Args:
        data: A source for :func:`~nasgen.data.load_dataset` or what it returned; None = the embedded subset.
        space: The search space (a streamed cache is decoded at its largest proxy resolution); may be None when
            ``cache_px`` is given.
        proxy: The proxy recipe (``TrainConfig``), or None with a stand-in scorer.
        out_dir: The run directory (where a streamed dataset's cache is memory-mapped).
        seed: The study's seed.
        options: How a streamed folder becomes the cache.
        need_data: False with a stand-in scorer: no ``data`` means no data (the space's classes and channels).
        cache_px: The cache's side in px, as a study recorded it (default: from ``space`` and ``proxy``).

    Raises:
        DataError: Missing or unusable data; a file of the subset cannot be decoded (unless skipping); too few
            images.
    """
    from nasgen.data import ImageFiles, fingerprint

    if data is None and not need_data:
        return SearchData(None, None, None)
    dataset = load(data, seed)
    source = dataset.name if isinstance(dataset, ImageFiles) else str(data or "embedded")
    report = getattr(dataset, "report", None)  # files ignored and conversions made, said once (as `nasgen train`)
    prepared = SearchData(dataset, dataset, source, fingerprint=fingerprint(dataset),
                          notes=list(report.notes) if report is not None else [])  # fmt: skip
    if proxy is None:
        return prepared
    px = cache_px if cache_px is not None else proxy_cache_resolution(space, proxy)
    if report is not None:  # images far smaller than the largest proxy resolution (header reads, no decode)
        prepared.notes += report.resolution_notes(px)
    if not isinstance(dataset, ImageFiles):
        return prepared
    from nasgen.data import DEFAULT_PROXY_IMAGES
    from nasgen.train import proxy_data

    if options.max_image_pixels is not None:
        dataset = dataset.with_max_image_pixels(options.max_image_pixels)
    n_images = DEFAULT_PROXY_IMAGES if options.proxy_images is None else options.proxy_images
    prepared.train, cache = proxy_data(
        dataset, proxy, resolution_px=px, n_images=n_images, cache_dir=out_dir, workers=options.loader_workers,
        skip_bad_images=options.skip_bad_images,
    )
    prepared.streamed_images = n_images
    prepared.cache_file = None if cache.path is None else cache.path.name
    prepared.cache_px = px
    prepared.notes = _cache_notes(cache, len(dataset), px, options.proxy_images is None) + prepared.notes
    return prepared


def _cache_notes(cache: Any, n_files: int, px: int, default_size: bool) -> list[str]:
    where = f"memory-mapped {cache.path}" if cache.path is not None else "in memory"
    how = "reused" if cache.reused else f"decoded once in {cache.seconds:.1f} s"
    default = " (the default --proxy-images)" if default_size else ""
    notes = [
        f"proxy data: {len(cache.dataset)} of {n_files} images{default}, class-balanced, {how} at {px} px, {where}"
    ]
    if cache.skipped:
        listed = "; ".join(f"{path} ({reason})" for path, reason in sorted(cache.skipped.items()))
        notes.append(f"skipped {len(cache.skipped)} bad image(s): {listed}")
    return notes


def open_prepared(cache_path: Path, source: str | None, fingerprint: str | None) -> SearchData:
    """The data of a study whose proxy cache is the file ``cache_path`` (a worker process, ``confirm``): mapped,
    with nothing scanned or decoded.

    Raises:
        DataError: The cache file is missing or unreadable.
    """
    from nasgen.data import open_proxy_cache

    cached = open_proxy_cache(cache_path)
    return SearchData(cached, cached, source, fingerprint=fingerprint, cache_file=Path(cache_path).name)
