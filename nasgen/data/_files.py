"""Image datasets read lazily: a list of files and labels (an ImageFolder tree or a ``path,label`` list).

Nothing is decoded here; :mod:`nasgen.data._stream` decodes in DataLoader workers at the resolution asked for,
and :mod:`nasgen.data._cache` decodes a class-balanced subset once for the proxy. Paths are held as one
fixed-width UTF-8 bytes array (no Python object per file, so forked DataLoader workers share its pages instead
of copying them on every reference-count change): memory is the longest path's length per file, whatever the
image sizes. Torch-free.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasgen.config import DEFAULT_MAX_IMAGE_PIXELS
from nasgen.data._dataset import DataReport, stratified_order
from nasgen.data._folder import IMAGE_SUFFIXES, empty_classes, header_findings, omission_notes
from nasgen.data._inspect import walk_tree
from nasgen.errors import DataError

__all__ = ["LIST_SUFFIXES", "ImageFiles", "is_streamable", "open_image_files", "read_file_list", "scan_image_folder"]

#: Extensions of files read as images in an ImageFolder tree (any other file is ignored).
STREAM_SUFFIXES = IMAGE_SUFFIXES  # one list of image suffixes for the in-memory and the streamed folder reader
#: Extensions of a ``path,label`` list file.
LIST_SUFFIXES = (".csv", ".txt", ".tsv")
#: Headers read (a class-balanced sample) to decide between one grey channel and RGB, and to note animated,
#: extreme and tiny images.
MODE_SAMPLE = 256


@dataclass(frozen=True, eq=False)
class ImageFiles:
    """Image files and their labels, decoded on demand: what ``load_dataset(folder)`` returns.

    Holds paths, never pixels (about 100 bytes a file whatever the image sizes), so memory does not grow with
    the images. nasgen's trainer streams it (:class:`~nasgen.train._stream.StreamTrainer`: random-resized
    crops at each epoch's size, decoded by DataLoader workers) and the search decodes a class-balanced subset
    once into its proxy cache. As a torch map-style dataset, ``files[i]`` decodes file ``i``:

    Example:
        >>> from torch.utils.data import DataLoader
        >>> files = load_dataset("photos/")  # doctest: +SKIP
        >>> image, label = files[0]  # doctest: +SKIP
        >>> image.dtype, tuple(image.shape)  # the file's own size  # doctest: +SKIP
        (torch.uint8, (3, 480, 640))
        >>> train = DataLoader(files.transformed(224, train=True), batch_size=32, shuffle=True)  # doctest: +SKIP
        >>> tuple(next(iter(train))[0].shape)  # doctest: +SKIP
        (32, 3, 224, 224)

    Attributes:
        paths: File paths ``(N,)``, UTF-8 encoded (numpy ``bytes_`` array); :meth:`path` gives one as ``str``.
        labels: int64 class indices ``(N,)``.
        classes: Class names in label order.
        name: Where the list came from (the folder or list file), for logs and run records.
        mode: ``"L"`` (1 channel) when every sampled header is grey, else ``"RGB"``; every image is decoded to it.
        val_index: Indices of a shipped validation split, or ``None``.
        report: What the scan ignored, skipped or will convert and what the sampled headers showed
            (:class:`~nasgen.data.DataReport`), or None; kept by subsets.
        transform: Applied by ``files[i]`` to the decoded PIL image (:meth:`with_transform`,
            :meth:`transformed`); ``None`` = a uint8 tensor ``(C, H, W)`` at the file's own size. nasgen's own
            trainer and proxy cache apply their transforms and ignore this one.
        max_image_pixels: A file whose header claims more pixels (width × height) is a bad file, never decoded
            (a decompression bomb); default PIL's own limit (:meth:`with_max_image_pixels`; ``train`` and
            ``search`` set their ``max_image_pixels`` setting here).

    Raises:
        DataError: No files, labels out of range, or fewer than two classes present.
    """

    paths: np.ndarray
    labels: np.ndarray
    classes: list[str]
    name: str
    mode: str = "RGB"
    val_index: np.ndarray | None = field(default=None, repr=False)
    report: Any = field(default=None, repr=False, compare=False)
    transform: Any = field(default=None, repr=False, compare=False)
    _stats: dict = field(default_factory=dict, repr=False, compare=False)
    max_image_pixels: int = field(default=DEFAULT_MAX_IMAGE_PIXELS, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.paths) == 0:
            raise DataError(f"{self.name}: no images")
        if self.labels.shape != (len(self.paths),):
            raise DataError(f"{self.name}: {len(self.paths)} files but labels of shape {self.labels.shape}")
        if self.labels.min() < 0 or self.labels.max() >= len(self.classes):
            raise DataError(f"{self.name}: labels must lie in [0, {len(self.classes)})")
        if len(np.unique(self.labels)) < 2:
            raise DataError(f"{self.name}: only one class ({self.classes[int(self.labels[0])]!r}); need at least two")

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        """Decode file ``index`` now: ``(image, label)``.

        The image is upright (EXIF orientation applied) and in :attr:`mode`; without a :attr:`transform` it is a
        uint8 tensor ``(C, H, W)`` at the file's own size (C = :attr:`in_channels`), else ``transform(PIL image)``.

        Raises:
            IndexError: ``index`` outside ``[-N, N)``.
            DataError: The file cannot be decoded (corrupt, truncated, not an image, claiming more than
                :attr:`max_image_pixels`); the message names it.
        """
        from nasgen.data._decode import decode_image

        path = self.path(index)  # IndexError past the end, so iteration stops
        image, reason = decode_image(path, self.mode, max_image_pixels=self.max_image_pixels)
        if image is None:
            raise DataError(f"{path}: {reason}")
        label = int(self.labels[index])
        if self.transform is not None:
            return self.transform(image), label
        import torch

        pixels = np.array(image, dtype=np.uint8)
        return torch.from_numpy(pixels.reshape(*pixels.shape[:2], -1)).permute(2, 0, 1).contiguous(), label

    def path(self, index: int) -> str:
        """The path of file ``index``."""
        return os.fsdecode(self.paths[index])

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)

    @property
    def in_channels(self) -> int:
        """1 for grey data, 3 for colour."""
        return 1 if self.mode == "L" else 3

    @property
    def resolution_px(self) -> None:
        """``None``: every file keeps its own size; the trainer decides the size of each batch (px)."""
        return None

    def subset(self, index: np.ndarray, name: str | None = None) -> ImageFiles:
        """The files at ``index`` (a shipped validation split does not carry over; report, transform and limit do)."""
        return ImageFiles(
            self.paths[index], self.labels[index], list(self.classes), name or self.name, self.mode,
            report=self.report, transform=self.transform, max_image_pixels=self.max_image_pixels,
        )  # fmt: skip

    def with_transform(self, transform: Any) -> ImageFiles:
        """The same files whose items are ``(transform(PIL image), label)`` (as torchvision's ``ImageFolder``)."""
        return ImageFiles(
            self.paths, self.labels, list(self.classes), self.name, self.mode, self.val_index, self.report,
            transform, self._stats, self.max_image_pixels,
        )  # fmt: skip

    def with_max_image_pixels(self, max_image_pixels: int) -> ImageFiles:
        """The same files, decoded only when their header claims at most ``max_image_pixels`` (width × height)."""
        if max_image_pixels == self.max_image_pixels:
            return self
        return ImageFiles(
            self.paths, self.labels, list(self.classes), self.name, self.mode, self.val_index, self.report,
            self.transform, self._stats, max_image_pixels,
        )  # fmt: skip

    def transformed(self, resolution_px: int, *, train: bool) -> ImageFiles:
        """The same files with nasgen's standard transform to ``resolution_px`` (R): items are uint8 ``(C, R, R)``.

        ``train=True``: random-resized crop (area 0.08–1, aspect 3/4–4/3) + horizontal flip, drawn from torch's
        global RNG; ``train=False``: resize the shorter side to ``floor(R / 0.875)`` and centre-crop (timm's
        ``crop_pct``). Normalization is left to the model's input (nasgen normalizes on the device).

        Raises:
            DataError: ``resolution_px`` is not a positive integer.
        """
        if isinstance(resolution_px, bool) or not isinstance(resolution_px, int) or resolution_px < 1:
            raise DataError(f"resolution_px must be a positive integer (px), got {resolution_px!r}")
        from nasgen.data._stream import eval_transform, train_transform

        return self.with_transform(train_transform(resolution_px) if train else eval_transform(resolution_px))

    def content_key(self) -> str:
        """A hash of the paths, labels, sizes and modification times (what a cache built from it depends on)."""
        import hashlib

        digest = hashlib.sha256(self.mode.encode())
        for path, label in zip(self.paths, self.labels):
            try:
                stat = os.stat(path)
                digest.update(path + f"\0{label}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            except OSError:
                digest.update(path + f"\0{label}\0missing\n".encode())
        return digest.hexdigest()[:16]


def _encode(paths: list[str]) -> np.ndarray:
    """Paths as a fixed-width bytes array (file-system encoding, undecodable names kept byte for byte)."""
    return np.array([os.fsencode(p) for p in paths], dtype=np.bytes_)


def _sample_headers(paths: np.ndarray, labels: np.ndarray) -> list[tuple[str, Any]]:
    """``(path, ImageHeader)`` of a class-balanced sample of :data:`MODE_SAMPLE` files; unreadable files are
    left out here (they are reported when decoded). Headers only: nothing is decoded."""
    from nasgen.data._decode import UnreadableImage, read_header

    headers = []
    for index in stratified_order(labels, 0)[:MODE_SAMPLE]:
        path = os.fsdecode(paths[index])
        try:
            headers.append((path, read_header(path, max_image_pixels=None)))
        except UnreadableImage:
            continue
    return headers


def _report(headers: list[tuple[str, Any]], n_files: int, notes: list[str], **fields: Any) -> tuple[str, DataReport]:
    """The decode mode (``"L"`` when every sampled header is grey) and the report of a scan: its ``notes`` plus
    the grey-and-colour, animated and aspect-ratio notes of the sampled headers."""
    grey = sum(header.mode != "RGB" for _, header in headers)
    mode = "RGB" if grey < len(headers) else "L"
    if mode == "RGB" and grey:
        among = f"{len(headers)}" if len(headers) == n_files else f"{len(headers)} sampled"
        notes.append(f"{grey} grey image(s) among {among} converted to 3 channels (the folder mixes both)")
    findings, more = header_findings(headers, n_files)
    report = DataReport(notes=tuple(notes + more), **fields, **findings)
    return mode, report


def scan_image_folder(root: str | Path, *, skip_empty_classes: bool = False) -> ImageFiles:
    """List ``ROOT/<class>/**/<image>`` without decoding anything (headers of ≤ 256 files are read for the mode
    and the notes on animated, extreme and tiny images).

    Hidden files and folders are ignored; other files without an image extension are counted and listed in the
    :class:`~nasgen.data.DataReport` (``files.report``), as the in-memory loader does (issue 19): an empty class
    folder is refused unless ``skip_empty_classes``, and what was skipped or will be converted is said once in
    ``report.notes``. Symbolic links are followed unless they loop, point nowhere or leave ``root`` (those are
    listed and said once).

    Raises:
        DataError: ``root`` is not a folder, holds no images, fewer than two classes, or an empty class folder
            (without ``skip_empty_classes``).
    """
    from nasgen.data._inspect import link_note

    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    tree = walk_tree(root, skip_hidden=True)
    ignored = list(tree.loose)
    per_class: list[tuple[str, list[str]]] = []
    for name, found in tree.per_class:
        names = sorted(found)
        per_class.append((name, [n for n in names if os.path.splitext(n)[1].lower() in STREAM_SUFFIXES]))
        ignored += [n for n in names if os.path.splitext(n)[1].lower() not in STREAM_SUFFIXES]
    if not any(files for _, files in per_class):
        raise DataError(f"{root}: no images (expected ROOT/<class>/<image>.jpg …)")
    empty = empty_classes(root, per_class, skip_empty_classes)
    per_class = [(name, files) for name, files in per_class if files]
    classes = [name for name, _ in per_class]
    paths = _encode([path for _, files in per_class for path in files])
    labels = np.concatenate([np.full(len(files), label, dtype=np.int64) for label, (_, files) in enumerate(per_class)])
    notes = omission_notes(empty, ignored) + [note for note in [link_note(tree.unfollowed, root)] if note]
    mode, report = _report(_sample_headers(paths, labels), len(paths), notes, ignored_files=tuple(ignored),
                           skipped_classes=tuple(empty), unfollowed_links=tuple(tree.unfollowed))  # fmt: skip
    return ImageFiles(paths, labels, classes, str(root), mode, report=report)


def read_file_list(path: str | Path) -> ImageFiles:
    """Read a ``path,label`` list (CSV; ``.tsv`` tab-separated); relative paths are relative to the list's folder.

    Labels are class names (sorted to give indices) or integers 0…K−1; a header row ``path,label`` is skipped.

    Raises:
        DataError: The file cannot be read, a row does not have two fields, or fewer than two classes.
    """
    path = Path(path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle, delimiter=delimiter) if row and not row[0].startswith("#")]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the list ({exc})") from exc
    if rows and [c.strip().lower() for c in rows[0]] == ["path", "label"]:
        rows = rows[1:]
    for number, row in enumerate(rows, start=1):
        if len(row) != 2:
            raise DataError(f"{path}: row {number} must be 'path,label', got {delimiter.join(row)!r}")
    names = [row[1].strip() for row in rows]
    numeric = all(name.isdigit() for name in names)
    classes = [str(i) for i in range(max(map(int, names)) + 1)] if numeric and names else sorted(set(names))
    index = {name: i for i, name in enumerate(classes)}
    labels = np.array([int(n) if numeric else index[n] for n in names], dtype=np.int64)
    paths = _encode([str((path.parent / row[0].strip()).resolve()) for row in rows])
    if len(paths) == 0:
        raise DataError(f"{path}: the list holds no images")
    mode, report = _report(_sample_headers(paths, labels), len(paths), [])
    return ImageFiles(paths, labels, classes, str(path), mode, report=report)


def is_streamable(source: object) -> bool:
    """True when ``source`` names an ImageFolder tree or a ``path,label`` list (not IDX, ``.npz`` or a name)."""
    if isinstance(source, ImageFiles):
        return True
    if not isinstance(source, (str, os.PathLike)) or str(source) in ("embedded", "fashion-mnist"):
        return False  # the named sources are small and stay in memory
    path = Path(source).expanduser()
    if path.is_file():
        return path.suffix.lower() in LIST_SUFFIXES
    if path.is_dir():
        return not any("-ubyte" in p.name for p in path.iterdir())
    return False


def open_image_files(source: str | os.PathLike[str], *, skip_empty_classes: bool = False) -> ImageFiles:
    """An :class:`ImageFiles` for a folder tree (see :func:`scan_image_folder`) or a list file.

    Raises:
        DataError: The path does not exist or is neither a folder nor a ``.csv``/``.txt``/``.tsv`` list.
    """
    path = Path(source).expanduser()
    if path.is_dir():
        return scan_image_folder(path, skip_empty_classes=skip_empty_classes)
    if path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
        return read_file_list(path)
    raise DataError(f"{path}: expected an ImageFolder tree or a 'path,label' list ({', '.join(LIST_SUFFIXES)})")
